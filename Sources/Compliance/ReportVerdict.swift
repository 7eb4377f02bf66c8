import Outputs

/// The four answers an auditor came for, computed once and shown first in every format:
/// what changed and was it caught, what is configured now, whether the control is in
/// place, and whether the evidence is complete.
struct ReportVerdict {
    struct Box {
        /// The section it links to (`#changes`, `#configuration`, `#control`, `#evidence`).
        var anchor: String
        var title: String
        /// The answer in a few words, and the facts under it.
        var headline: String
        var lines: [String]
        /// `alert`, `fail`, `warn` or `pass`: the box's colour.
        var tone: String
    }

    var boxes: [Box]

    init(report: PeriodReport, hosts: [ReportWriter.HostGaps], hostState: HostState?, period: String) {
        let totals = report.totals
        let excluded = totals.byDecision.count(of: "excluded")
        let alerts = totals.byRule.sorted.reduce(0) { $0 + $1.count } + totals.tamperBursts
        var changes = ["\(totals.changes) changes, \(period)"]
        changes += totals.byRule.sorted.map { "\($0.count) × \($0.name)" }
        if totals.tamperBursts > 0 { changes.append("\(totals.tamperBursts) × watches removed (bursts of rule changes)") }
        if excluded > 0 { changes.append("\(excluded) excluded by the rule's exclusions" + (totals.borrowed > 0 ? " (\(totals.borrowed) borrowed)" : "")) }
        if let top = totals.byProcess.sorted.first(where: { $0.name != "(audit rules)" }) { changes.append("most by \(top.name) (\(top.count))") }
        if let user = totals.byLoginUser.sorted.first { changes.append("login user \(user.name) (\(user.count))") }
        var boxes = [Box(anchor: "changes", title: "Changes", headline: alerts == 0 ? "no alert" : "\(alerts) alert\(alerts == 1 ? "" : "s")",
                         lines: changes, tone: alerts == 0 ? "pass" : "alert")]

        if let state = hostState {
            let verdicts = state.inventory.verdicts
            let failed = verdicts.filter { !$0.passed }.count
            let unowned = state.inventory.entries.filter { $0.package == .unowned }.count
            let modified = state.inventory.entries.filter { if case .modified = $0.package { true } else { false } }.count
            var lines = ["\(state.inventory.entries.count) files in the places"]
            if let profile = state.inventory.profile { lines.append("profile \(profile.name): \(verdicts.count - failed) pass, \(failed) fail") }
            lines.append("\(unowned) owned by no package, \(modified) changed since installed")
            boxes.append(Box(anchor: "configuration", title: "Configuration now",
                             headline: failed > 0 ? "\(failed) control\(failed == 1 ? "" : "s") fail" : unowned > 0 ? "\(unowned) unowned" : "as packaged",
                             lines: lines, tone: failed > 0 ? "fail" : unowned + modified > 0 ? "warn" : "pass"))
            let count = { (status: CheckResult.Status) in state.checks.filter { $0.status == status }.count }
            let (pass, warn, fail) = (count(.pass), count(.warn), count(.fail))
            boxes.append(Box(anchor: "control", title: "Control in place",
                             headline: fail > 0 ? "\(fail) FAIL" : warn > 0 ? "in place, \(warn) WARN" : "in place",
                             lines: ["\(pass) PASS, \(warn) WARN, \(fail) FAIL"] + state.checks.filter { $0.status == .fail }.prefix(3).map { "FAIL \($0.subject)" },
                             tone: fail > 0 ? "fail" : warn > 0 ? "warn" : "pass"))
        } else {
            let absent = ["not examined: report --host-state examines this host"]
            boxes.append(Box(anchor: "configuration", title: "Configuration now", headline: "not examined", lines: absent, tone: "warn"))
            boxes.append(Box(anchor: "control", title: "Control in place", headline: "not examined", lines: absent, tone: "warn"))
        }

        let gaps = hosts.flatMap(\.gaps)
        let blind = gaps.filter { !$0.partial }.count, partial = gaps.filter(\.partial).count
        let losses = hosts.reduce(0) { $0 + $1.trail.lossNotices(in: report.period, gaps: $1.gaps) }
        var evidence = ["\(hosts.count) host\(hosts.count == 1 ? "" : "s")"]
        evidence.append("\(blind) gap\(blind == 1 ? "" : "s") with nothing recorded, \(partial) partial (a watch removed)")
        if losses > 0 { evidence.append("\(losses) notices of records lost") }
        if let baseline = hostState?.baseline {
            evidence.append("\(baseline.changes.count) differences from the plugin's baseline no record explains yet")
        }
        boxes.append(Box(anchor: "evidence", title: "Evidence", headline: gaps.isEmpty && losses == 0 ? "complete" : "\(gaps.count) blind window\(gaps.count == 1 ? "" : "s")",
                         lines: evidence, tone: blind + losses + (hostState?.baseline?.changes.count ?? 0) > 0 ? "fail" : partial > 0 ? "warn" : "pass"))
        self.boxes = boxes
    }

    /// Four boxes, each linking to its section.
    var html: String {
        "<section class=\"verdict\">" + boxes.map { box in
            "<a class=\"box t-\(box.tone)\" href=\"#\(box.anchor)\"><span class=\"title\">\(HTML.escape(box.title))</span>"
                + "<span class=\"headline\">\(HTML.escape(box.headline))</span>"
                + box.lines.map { "<span class=\"line\">\(HTML.escape($0))</span>" }.joined() + "</a>"
        }.joined() + "</section>\n"
    }

    /// The same, as the text format's opening lines.
    var text: String {
        boxes.map { box in
            "\(box.title): \(box.headline)\n" + box.lines.map { "    \($0)\n" }.joined()
        }.joined() + "\n"
    }

    /// The JSON summary's `verdict` member.
    func write(into writer: inout JSONWriter) {
        writer.key("verdict")
        writer.beginArray()
        for box in boxes {
            writer.beginObject()
            writer.member("question", box.anchor)
            writer.member("answer", box.headline)
            writer.member("tone", box.tone)
            writer.key("facts"); writer.beginArray(); for line in box.lines { writer.string(line) }; writer.endArray()
            writer.endObject()
        }
        writer.endArray()
    }
}
