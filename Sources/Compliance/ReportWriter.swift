import FileEvents
import Glibc
import HostFiles
import Outputs
import RuleEngine

/// Writes the period report in one of the evidence formats: the changes as they come
/// (`write`), then, at `finish`, the totals, what each host's logs can vouch for and, with
/// `--host-state`, the checks and the inventory. Text and HTML open with the verdict
/// (`ReportVerdict`), so their rows wait (`SpoolFile`, `EvidencePage`) until the summary
/// is known; JSON ends with it, and CSV is the rows alone.
public final class ReportWriter {
    public let format: EvidenceFormat
    private let output: EvidenceOutput
    private let rule: DetectionRule
    /// The text format's change lines, written after the verdict.
    private var textRows: SpoolFile?
    /// The page's changes, sorted into its sections.
    private var page: EvidencePage?

    public static let columns = ["time (UTC)", "host", "event id", "action", "path", "from", "via", "process", "pid", "ppid",
                                 "parent process", "login user", "user", "decision", "detail"]

    /// The host name of records without `node=` (`PeriodReport.unnamedHost`).
    private let unnamedHost: String

    public init(format: EvidenceFormat, output: EvidenceOutput, rule: DetectionRule, unnamedHost: String) throws(EvidenceError) {
        (self.format, self.output, self.rule, self.unnamedHost) = (format, output, rule, unnamedHost)
        switch format {
        case .csv:
            output.write(Table.csvRow(Self.columns))
        case .text:
            textRows = try SpoolFile()
        case .html:
            page = try EvidencePage()
        case .json:
            break
        }
    }

    /// One change.
    public func write(_ change: ReportedChange) {
        switch format {
        case .json: output.write(line: json(change))
        case .csv: output.write(Table.csvRow(cells(change)))
        case .text: textRows?.write(Self.text(cells(change)))
        case .html: page?.add(change, host: change.host ?? unnamedHost)
        }
    }

    /// The row of a change, as people read it.
    func cells(_ change: ReportedChange) -> [String] {
        var cells = [isoTime(change.time), change.host ?? unnamedHost, change.eventID, change.action]
        switch change.subject {
        case .file(let event):
            cells += [Self.path(event.file), event.original.map(Self.path) ?? "", Self.via(event.audit),
                      event.process.executable.map(DisplayText.of) ?? (event.process.executableUnknown ? "(unknown)" : "-"),
                      event.process.pid.map(String.init) ?? "-", event.process.parentPID.map(String.init) ?? "-",
                      event.process.parentExecutable.map(DisplayText.of) ?? "-",
                      change.loginUser, ReportedChange.user(event.user.effectiveName, event.user.effectiveID)]
        case .rules(let rules):
            cells += [rules.path.map(DisplayText.of) ?? "(audit rules)", "", "CONFIG_CHANGE op=\(rules.operation ?? "?")", "-", "-", "-",
                      "-", change.loginUser, "-"]
        }
        cells.append(change.decision.name)
        cells.append(Self.detail(change))
        return cells
    }

    /// A change in a terminal: a headline, then its evidence, indented.
    static func text(_ cells: [String]) -> String {
        let cells = cells.map(DisplayText.printable)
        let (time, host, id, action, path, from, via, process, pid, ppid, parent, login, user, decision, detail) =
            (cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7], cells[8], cells[9], cells[10], cells[11],
             cells[12], cells[13], cells[14])
        func padded(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(1, width - text.count)) }
        var out = "\(time)  \(padded(host, 12))\(padded(action, 21))\(padded(decision, 9))\(path)\n"
        if !from.isEmpty { out += "    from \(from)\n" }
        out += "    id \(id)  via \(via)  by \(process) (pid \(pid), ppid \(ppid)\(parent == "-" ? "" : " " + parent))"
            + "  login user \(login)  user \(user)\n"
        if !detail.isEmpty { out += "    \(detail)\n" }
        return out
    }

    static func path(_ file: EventFile) -> String {
        if let path = file.path { return DisplayText.of(path) }
        if let directory = file.directory { return DisplayText.of(directory) + "/(name not logged)" }
        return "(unresolved: \(file.unresolvedReason ?? "unknown"))"
    }

    static func via(_ audit: AuditFacts) -> String {
        if audit.uringOperation != nil { return "io_uring \(audit.syscall.rawValue)" }
        return audit.syscall.rawValue + (audit.architecture.map { " (\($0.name))" } ?? "")
    }

    static func detail(_ change: ReportedChange) -> String {
        switch change.decision {
        case .excluded(let clause, let borrowed):
            return "excluded by: \(clause)" + (borrowed.map { "; borrowed, so \(BorrowedExclusionRule.metadata.name) alerts: \($0)" } ?? "")
        case .alert(let rule, let undecided): return rule + (undecided ? " (undecided: the records do not say all the rule tests)" : "")
        case .none:
            if case .file(let event) = change.subject {
                switch event.action {
                case .rename where event.original != nil: return "renamed out of the place: not a rule case"
                case .modification: return "not a rule case: outside the files the rule covers"
                case .deletion: return "not a rule case"
                case .attributes: return "not a rule case"
                default: return ""
                }
            }
            return ""
        }
    }

    private func json(_ change: ReportedChange) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        switch change.subject {
        case .file(let event): FileEventDocument.writeMembers(of: event, kind: "event", into: &writer)
        case .rules(let rules): AlertDocument.writeMembers(of: rules, rule: WatchRemovalRule.metadata, into: &writer)
        }
        writer.beginObject("audisp_lkm")
        writer.member("decision", change.decision.name)
        if case .excluded(let clause, let borrowed) = change.decision {
            writer.member("excluded_by", clause)
            if let borrowed {
                writer.member("borrowed", borrowed)
                writer.member("companion_rule", BorrowedExclusionRule.metadata.name)
            }
        }
        if case .alert(let rule, let undecided) = change.decision {
            writer.member("rule", rule)
            writer.member("undecided", flag: undecided)
        }
        writer.member("place", change.place)
        writer.endObject()
        writer.endObject()
        return writer.bytes
    }

    // MARK: - The end

    /// Writes the summary (and the host state) and closes the output.
    public func finish(_ report: PeriodReport, inputs: [String], generated: Double, hostState: HostState?) throws(EvidenceError) {
        // Each host's gaps, computed once for every table, document and timeline.
        let hosts = report.trails.keys.sorted().compactMap { name in
            report.trails[name].map { HostGaps(trail: $0, gaps: $0.gaps(in: report.period)) }
        }
        let verdict = ReportVerdict(report: report, hosts: hosts, hostState: hostState, period: periodText(report.period))
        switch format {
        case .csv:
            break
        case .json:
            output.write(line: summaryJSON(report, inputs: inputs, generated: generated, hosts: hosts, verdict: verdict))
            if let hostState {
                output.write(line: HostStateEvidence.checkJSON(hostState.checks, time: generated, host: hostState.inventory.hostName))
                for document in HostStateEvidence.inventoryJSON(hostState.inventory) { output.write(line: document) }
                for found in hostState.baseline?.changes ?? [] {
                    var formatter = LineFormatter(format: .json)
                    output.write(line: formatter.alert(found, rule: UnwatchedChangeRule.metadata))
                }
            }
        case .text:
            output.write(verdict.text)
            output.write("Changes under the places the rule covers: time, host, action, decision, path; then the evidence\n\n")
            try textRows?.copy(to: output)
            output.write("\n")
            for table in summaryTables(report, hosts: hosts) { output.write(table.text + "\n") }
            if let hostState {
                output.write(HostStateEvidence.checkTable(hostState.checks).text + "\n")
                for table in HostStateEvidence.inventoryTables(hostState.inventory) { output.write(table.text + "\n") }
                if let baseline = hostState.baseline { output.write(baseline.table.text + "\n") }
            }
        case .html:
            output.write(HTMLPage.head(title: "Kernel-module configuration: evidence for \(periodText(report.period))"))
            output.write("<p class=\"meta\">Generated \(HTML.escape(isoTime(generated))) by audisp-lkm from \(inputs.count) "
                         + "input\(inputs.count == 1 ? "" : "s"): \(HTML.escape(inputs.joined(separator: ", "))). "
                         + "Rule: \(HTML.escape(rule.name)), version \(rule.version.map(String.init) ?? "-"). "
                         + "Every change carries its event id: <code>ausearch -a ID</code> finds its records.</p>\n")
            output.write(verdict.html)
            try page?.write(to: output)
            let tables = summaryTables(report, hosts: hosts)
            output.write(tables[0].html)
            output.write("<h1 id=\"configuration\">2. What is configured now?</h1>\n")
            if let hostState {
                for table in HostStateEvidence.inventoryTables(hostState.inventory) { output.write(table.html) }
            } else {
                output.write("<p class=\"none\">Not examined: <code>report --host-state</code> adds this host's inventory.</p>\n")
            }
            output.write("<h1 id=\"control\">3. Is the control in place?</h1>\n")
            if let hostState {
                output.write(HostStateEvidence.checkTable(hostState.checks).html)
            } else {
                output.write("<p class=\"none\">Not examined: <code>report --host-state</code> adds this host's checks.</p>\n")
            }
            output.write("<h1 id=\"evidence\">4. Is the evidence complete? Gaps and blind windows</h1>\n")
            output.write(TimelineSVG.svg(report: report, hosts: hosts))
            for table in tables.dropFirst() { output.write(table.html) }
            if let baseline = hostState?.baseline { output.write(baseline.table.html) }
            output.write(HTMLPage.foot)
        }
        try output.close()
    }

    func periodText(_ period: ReportPeriod) -> String {
        "\(period.since.map(isoTime) ?? "the start of the logs") to \(period.until.map(isoTime) ?? "the end of the logs")"
    }

    /// Totals, then per host: its records, gaps and auditd's and the watches' marks.
    /// A host's trail and its gaps in the report's period.
    struct HostGaps {
        var trail: HostTrail
        var gaps: [HostTrail.Gap]
    }

    func summaryTables(_ report: PeriodReport, hosts: [HostGaps]) -> [Table] {
        var totals = Table(title: "Totals: \(report.totals.changes) changes, \(periodText(report.period))",
                           columns: ["by", "value", "changes"],
                           note: report.duplicates > 0 ? "\(report.duplicates) changes seen twice (overlapping inputs) are counted once" : nil)
        for (title, _, tally) in report.totals.all {
            for (name, count) in tally.sorted { totals.rows.append([title, name, String(count)]) }
        }
        var coverage = Table(title: "Hosts: the period each host's logs cover",
                             columns: ["host", "first record", "last record", "events", "gaps", "loss notices"])
        var gaps = Table(title: "Gaps: stretches of the period the logs cannot vouch for",
                         columns: ["host", "from", "to", "kind", "reason"],
                         note: "partial: a watch of the detector was removed, so changes in its place may be missing")
        var marks = Table(title: "auditd and watch events", columns: ["host", "time", "event id", "event", "detail"])
        for (trail, hostGaps) in hosts.map({ ($0.trail, $0.gaps) }) {
            let host = trail.host
            coverage.rows.append([host, trail.firstRecord.map(isoTime) ?? "-", trail.lastRecord.map(isoTime) ?? "-",
                                  String(trail.events), String(hostGaps.count),
                                  String(trail.lossNotices(in: report.period, gaps: hostGaps))])
            for gap in hostGaps {
                gaps.rows.append([host, isoTime(gap.from), isoTime(gap.to), gap.partial ? "partial" : "none recorded", gap.reason])
            }
            for mark in trail.marks(in: report.period) {
                marks.rows.append([host, isoTime(mark.time), mark.eventIDs, mark.kind.rawValue, mark.detail])
            }
            if trail.marksDropped > 0 { marks.rows.append([host, "", "", "(more)", "\(trail.marksDropped) more not listed"]) }
        }
        return [totals, coverage, gaps, marks]
    }

    private func summaryJSON(_ report: PeriodReport, inputs: [String], generated: Double, hosts: [HostGaps],
                             verdict: ReportVerdict) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("@timestamp", isoTime(generated))
        writer.beginObject("event"); writer.member("kind", "metric"); writer.member("action", "report-summary"); writer.endObject()
        writer.beginObject("audisp_lkm")
        writer.beginObject("period")
        writer.member("since", report.period.since.map(isoTime))
        writer.member("until", report.period.until.map(isoTime))
        writer.endObject()
        writer.key("inputs"); writer.beginArray(); for input in inputs { writer.string(input) }; writer.endArray()
        verdict.write(into: &writer)
        writer.member("changes", number: report.totals.changes)
        writer.member("duplicates", number: report.duplicates)
        writer.beginObject("totals")
        for (_, key, tally) in report.totals.all {
            writer.key(key)
            writer.beginArray()
            for (name, count) in tally.sorted {
                writer.beginObject(); writer.member("value", name); writer.member("count", number: count); writer.endObject()
            }
            writer.endArray()
        }
        writer.endObject()
        writer.key("hosts"); writer.beginArray()
        for (trail, gaps) in hosts.map({ ($0.trail, $0.gaps) }) {
            writer.beginObject()
            writer.member("name", trail.host)
            writer.member("first_record", trail.firstRecord.map(isoTime))
            writer.member("last_record", trail.lastRecord.map(isoTime))
            writer.member("events", number: trail.events)
            writer.member("loss_notices", number: trail.lossNotices(in: report.period, gaps: gaps))
            writer.key("gaps"); writer.beginArray()
            for gap in gaps {
                writer.beginObject()
                writer.member("from", isoTime(gap.from)); writer.member("to", isoTime(gap.to))
                writer.member("partial", bool: gap.partial); writer.member("reason", gap.reason)
                writer.endObject()
            }
            writer.endArray()
            writer.key("marks"); writer.beginArray()
            for mark in trail.marks(in: report.period) {
                writer.beginObject()
                writer.member("time", isoTime(mark.time)); writer.member("id", mark.eventID)
                writer.member("count", number: mark.count); writer.member("last_id", mark.lastEventID)
                writer.member("kind", mark.kind.rawValue); writer.member("detail", mark.detail)
                writer.endObject()
            }
            writer.endArray()
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        writer.endObject()
        return writer.bytes
    }
}
