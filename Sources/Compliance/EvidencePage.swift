import FileEvents
import Glibc
import HostFiles
import Outputs
import RuleEngine

/// The HTML page's changes, sorted by what matters while they stream in: alerts first,
/// each with its evidence; then the excluded events with their clause; then tampering, one
/// row per burst; then everything else grouped by place, action and program, with counts
/// and first and last times. Alert and exclusion rows wait in unlinked temporary files
/// (so a busy host's page costs no memory); the groups are bounded (`groupCapacity`, the
/// rest counted in one row). JSON and CSV keep a row per change.
final class EvidencePage {
    static let groupCapacity = 10_000
    static let alertColumns = ["time (UTC)", "host", "event id", "action", "path", "process", "login user", "user", "rule"]
    static let excludedColumns = ["time (UTC)", "host", "event id", "action", "path", "process", "login user", "excluded by"]
    static let tamperColumns = ["host", "first (UTC)", "last (UTC)", "event ids", "records", "login user", "what"]
    static let otherColumns = ["place", "action", "program", "changes", "first (UTC)", "last (UTC)", "hosts"]

    private let alerts: SpoolFile
    private let excluded: SpoolFile
    private(set) var alertCount = 0
    private(set) var excludedCount = 0

    private struct Burst {
        var host: String
        var login: String
        var first: Double
        var last: Double
        var firstID: String
        var lastID: String
        var records = 1
        var what: Set<String>
    }
    private var bursts: [Burst] = []
    private var burstsDropped = 0

    private struct GroupKey: Hashable {
        var place: String
        var action: String
        var program: String
    }
    private struct Group {
        var count = 0
        var first = Double.infinity
        var last = -Double.infinity
        var hosts = Set<String>()
    }
    private var groups: [GroupKey: Group] = [:]
    private static let overflow = GroupKey(place: "(others)", action: "", program: "(more groups than the page lists)")

    init() throws(EvidenceError) {
        alerts = try SpoolFile()
        excluded = try SpoolFile()
    }

    func add(_ change: ReportedChange, host: String) {
        switch (change.subject, change.decision) {
        case (.rules(let rules), .alert):
            // Records of one login user on one host within 2 s of each other: one burst.
            let what = WatchRemovalRule.action(for: rules) + (rules.listName.map { " (\($0))" } ?? "")
            if let index = bursts.indices.last(where: { bursts[$0].host == host && bursts[$0].login == change.loginUser }),
               change.time - bursts[index].last <= 2 {
                bursts[index].last = max(bursts[index].last, change.time)
                bursts[index].lastID = change.eventID
                bursts[index].records += 1
                bursts[index].what.insert(what)
            } else if bursts.count < Self.groupCapacity {
                bursts.append(Burst(host: host, login: change.loginUser, first: change.time, last: change.time,
                                    firstID: change.eventID, lastID: change.eventID, what: [what]))
            } else {
                burstsDropped += 1
            }
        case (.file(let event), .alert(let rule, let undecided)):
            alertCount += 1
            alerts.write(Table.htmlRow(cells(change, event: event, host: host,
                                             last: rule + (undecided ? " (undecided)" : "")), classes: Self.alertClasses))
        case (.file(let event), .excluded):
            excludedCount += 1
            excluded.write(Table.htmlRow(cells(change, event: event, host: host, last: ReportWriter.detail(change)),
                                         classes: Self.excludedClasses))
        case (.file, .none), (.rules, .excluded), (.rules, .none):
            var program = "(audit rules)"
            if case .file(let event) = change.subject {
                program = event.process.executable.map(DisplayText.of) ?? "(unknown)"
            }
            var key = GroupKey(place: change.place, action: change.action, program: program)
            if groups[key] == nil && groups.count >= Self.groupCapacity { key = Self.overflow }
            var group = groups[key] ?? Group()
            group.count += 1
            group.first = min(group.first, change.time)
            group.last = max(group.last, change.time)
            if group.hosts.count < 20 { group.hosts.insert(host) }
            groups[key] = group
        }
    }

    /// Cell classes: identifiers and times never wrap; paths break only after `/`.
    private static let alertClasses = ["t", "h", "id", "d", "p", "proc", "", "", ""]
    private static let excludedClasses = ["t", "h", "id", "d", "p", "proc", "", ""]

    /// An alert's or an exclusion's evidence: the time, host and event id (`ausearch -a`),
    /// the action, the path (and where from), the program with its pid, parent and command
    /// line in one cell, the login user and user, and the last cell.
    private func cells(_ change: ReportedChange, event: FileEvent, host: String, last: String) -> [String] {
        var path = ReportWriter.path(event.file)
        if let original = event.original { path += "\nfrom " + ReportWriter.path(original) }
        let process = event.process
        var program = process.executable.map(DisplayText.of) ?? (process.executableUnknown ? "(unknown)" : "-")
        program += "\npid \(process.pid.map(String.init) ?? "-"), parent \(process.parentPID.map(String.init) ?? "-")"
            + (process.parentExecutable.map { " " + DisplayText.of($0) } ?? "")
        if !process.args.isEmpty {
            program += "\n" + process.args.map(DisplayText.of).joined(separator: " ")
        }
        program += "\nvia " + ReportWriter.via(event.audit)
        var cells = [isoTime(change.time), host, change.eventID, change.action, path, program, change.loginUser]
        if case .alert = change.decision { cells.append(ReportedChange.user(event.user.effectiveName, event.user.effectiveID)) }
        cells.append(last)
        return cells
    }

    /// The sections, in order, under the verdict panel's first anchor.
    func write(to output: EvidenceOutput) throws(EvidenceError) {
        output.write("<h1 id=\"changes\">1. What changed, who did it, and was it caught?</h1>\n")
        output.write("<section><h2>Alerts (\(alertCount))</h2>\n")
        try spooled(alerts, count: alertCount, columns: Self.alertColumns, to: output)
        output.write("</section>\n<section><h2>Excluded by the rule (\(excludedCount))</h2>\n")
        try spooled(excluded, count: excludedCount, columns: Self.excludedColumns, to: output)
        output.write("</section>\n<section><h2>Tampering with the audit rules (\(bursts.count) bursts)</h2>\n")
        output.write("<p class=\"note\">Rule changes of one login user on one host, each within 2 s of the one before, are one row; "
                     + "<code>ausearch -a</code> takes each event id.</p>\n")
        var tamper = Table(title: "", columns: Self.tamperColumns)
        for burst in bursts {
            let ids = burst.records == 1 ? burst.firstID : "\(burst.firstID) … \(burst.lastID)"
            tamper.rows.append([burst.host, isoTime(burst.first), isoTime(burst.last), ids, String(burst.records), burst.login,
                                burst.what.sorted().joined(separator: ", ")])
        }
        if burstsDropped > 0 { tamper.rows.append(["", "", "", "", String(burstsDropped), "", "more records, not listed"]) }
        output.write(tamper.htmlBody(classes: ["h", "t", "t", "id", "n", "", ""]))
        output.write("</section>\n<section><h2>Everything else, grouped (\(groups.values.reduce(0) { $0 + $1.count }) changes)</h2>\n")
        output.write("<p class=\"note\">Not a case of any rule: deletions, attribute changes, renames out of a place. One row per "
                     + "place, action and program; every change is a row of its own in the JSON and CSV formats.</p>\n")
        var others = Table(title: "", columns: Self.otherColumns)
        let sorted = groups.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count
            : ($0.key.place, $0.key.action, $0.key.program) < ($1.key.place, $1.key.action, $1.key.program) }
        for (key, group) in sorted {
            others.rows.append([key.place, key.action, key.program, String(group.count), isoTime(group.first), isoTime(group.last),
                                group.hosts.sorted().joined(separator: ", ")])
        }
        output.write(others.htmlBody(classes: ["p", "d", "p", "n", "t", "t", "h"]))
        output.write("</section>\n")
    }

    private func spooled(_ file: SpoolFile, count: Int, columns: [String], to output: EvidenceOutput) throws(EvidenceError) {
        guard count > 0 else { return output.write("<p class=\"none\">(none)</p>\n") }
        output.write(Table.htmlHead(columns))
        try file.copy(to: output)
        output.write("</tbody></table>\n")
    }
}

/// An unlinked temporary file that text is appended to and read back whole once
/// (`tmpfile(3)`): rows that must come after what is written last.
final class SpoolFile {
    private let file: UnsafeMutablePointer<FILE>
    private var failed = false

    init() throws(EvidenceError) {
        guard let file = tmpfile() else { throw EvidenceError("a temporary file for the page: \(String(cString: strerror(errno)))") }
        self.file = file
    }

    deinit { fclose(file) }

    func write(_ text: String) {
        if text.withCString({ fputs($0, file) }) < 0 { failed = true }
    }

    /// Copies everything written to `output`; an error when a write or the read-back
    /// failed (disk full): then the output is discarded, never left half.
    func copy(to output: EvidenceOutput) throws(EvidenceError) {
        guard !failed, fflush(file) == 0 else {
            output.discard()
            throw EvidenceError("rows could not be kept in a temporary file: \(String(cString: strerror(errno)))")
        }
        rewind(file)
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            guard count > 0 else { break }
            output.write(bytes: Array(chunk[..<count]))
        }
        if ferror(file) != 0 {
            output.discard()
            throw EvidenceError("rows could not be read back from their temporary file")
        }
    }
}
