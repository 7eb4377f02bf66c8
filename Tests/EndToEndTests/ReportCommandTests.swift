import Foundation
import Testing
import TestSupport

/// `audisp-lkm report` on the report fixture, recorded from the kernel by
/// Tests/Fixtures/record-report.sh: what each of its steps did is known from the script,
/// and each step's event is found in the raw records here, never taken from the output.
@Suite("audisp-lkm report, end to end")
struct ReportCommandTests {
    static let logs = [TestData.kernelFixture("report/audit.log.1").path, TestData.kernelFixture("report/audit.log").path]
    static let fleet = TestData.kernelFixture("report-fleet.log.gz").path
    static let lines: [String] = logs.flatMap { (try? String(contentsOfFile: $0, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? [] }

    /// `SEC.MSEC:SERIAL` of a record line.
    static func eventID(_ line: String) -> String {
        guard let start = line.range(of: "msg=audit("), let end = line[start.upperBound...].firstIndex(of: ")") else { return "" }
        return String(line[start.upperBound..<end])
    }

    /// The events whose PATH records name `name` with `nametype`, and whose SYSCALL record
    /// is the call `syscall` (ENRICHED `SYSCALL=` name).
    static func events(naming name: String, _ nameType: String, by syscall: String) -> [String] {
        let named = Set(lines.filter { $0.hasPrefix("type=PATH") && $0.contains("name=\"\(name)\"") && $0.contains("nametype=\(nameType)") }
            .map(eventID))
        return lines.filter { $0.hasPrefix("type=SYSCALL") && $0.contains("SYSCALL=\(syscall) ") && named.contains(eventID($0)) }
            .map(eventID)
    }

    static func time(ofEvent id: String) -> Double { Double(id.split(separator: ":")[0])! }

    /// The JSON documents of a report: its changes and its summary.
    static func report(_ arguments: [String]) throws -> (changes: [[String: Any]], summary: [String: Any], err: String) {
        let run = try audispLKM(["report", "--format", "json"] + arguments)
        try #require(run.status == 0, "\(run.err)")
        var changes: [[String: Any]] = []
        var summary: [String: Any] = [:]
        for line in run.out.split(separator: "\n") {
            let document = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let event = document["event"] as? [String: Any]
            if event?["action"] as? String == "report-summary" { summary = document } else { changes.append(document) }
        }
        return (changes, summary, run.err)
    }

    static func change(_ changes: [[String: Any]], id: String, path: String) -> [String: Any]? {
        changes.first { jsonField($0, "event.id") as? String == id && jsonField($0, "file.path") as? String == path }
    }

    @Test("each step of the recording has its action and decision: creations alert or are excluded with their clause, writes to existing files alert, other changes are none")
    func decisions() throws {
        let (changes, summary, _) = try Self.report(Self.logs)
        struct Step { var name: String; var nameType: String; var syscall: String; var path: String; var action: String; var decision: String; var count: Int }
        let m = "/etc/modprobe.d", l = "/etc/modules-load.d"
        let steps = [
            Step(name: "\(m)/lkmrep-a.conf", nameType: "CREATE", syscall: "openat", path: "\(m)/lkmrep-a.conf", action: "creation", decision: "alert", count: 1),
            // b (append), c (truncate's open, the rewrite), d (touch's open): opened for
            // writing, so "Kernel Module Configuration File Modified" (the records cannot
            // tell that touch wrote nothing; live, the plugin compares the content).
            Step(name: "\(m)/lkmrep-a.conf", nameType: "NORMAL", syscall: "openat", path: "\(m)/lkmrep-a.conf", action: "modification", decision: "alert", count: 4),
            Step(name: "\(m)/lkmrep-a.conf", nameType: "NORMAL", syscall: "fchmodat", path: "\(m)/lkmrep-a.conf", action: "attributes", decision: "none", count: 1),
            Step(name: "\(m)/lkmrep-a.conf", nameType: "NORMAL", syscall: "fchownat", path: "\(m)/lkmrep-a.conf", action: "attributes", decision: "none", count: 1),
            Step(name: "\(m)/lkmrep-perl.conf", nameType: "CREATE", syscall: "openat", path: "\(m)/lkmrep-perl.conf", action: "creation", decision: "excluded", count: 1),
            Step(name: "\(m)/lkmrep-perl.conf", nameType: "CREATE", syscall: "rename", path: "\(m)/lkmrep-perl.conf", action: "rename", decision: "alert", count: 1),
            Step(name: "\(m)/lkmrep-b.conf", nameType: "CREATE", syscall: "renameat2", path: "\(m)/lkmrep-b.conf", action: "rename", decision: "alert", count: 1),
            Step(name: "\(l)/lkmrep-load.conf", nameType: "CREATE", syscall: "openat", path: "\(l)/lkmrep-load.conf", action: "creation", decision: "alert", count: 1),
            Step(name: "/var/tmp/lkmrep-out.conf", nameType: "CREATE", syscall: "renameat2", path: "/var/tmp/lkmrep-out.conf", action: "rename", decision: "none", count: 1),
            Step(name: "\(m)/lkmrep-perl.conf", nameType: "DELETE", syscall: "unlinkat", path: "\(m)/lkmrep-perl.conf", action: "deletion", decision: "none", count: 1),
            Step(name: "\(l)/lkmrep-load.conf", nameType: "DELETE", syscall: "unlinkat", path: "\(l)/lkmrep-load.conf", action: "deletion", decision: "none", count: 1),
            Step(name: "\(m)/lkmrep-unseen.conf", nameType: "DELETE", syscall: "unlinkat", path: "\(m)/lkmrep-unseen.conf", action: "deletion", decision: "none", count: 1),
        ]
        for step in steps {
            let ids = Self.events(naming: step.name, step.nameType, by: step.syscall)
            #expect(ids.count == step.count, "\(step.name) \(step.nameType) by \(step.syscall): \(ids)")
            for id in ids {
                let found = Self.change(changes, id: id, path: step.path)
                #expect(found != nil, "no change for \(id) \(step.path)")
                guard let found else { continue }
                #expect(jsonField(found, "event.action") as? String == step.action, "\(id) \(step.path)")
                #expect(jsonField(found, "audisp_lkm.decision") as? String == step.decision, "\(id) \(step.path)")
            }
        }
        let modified = changes.filter { jsonField($0, "event.action") as? String == "modification" }
        #expect(!modified.isEmpty && modified.allSatisfy { jsonField($0, "audisp_lkm.rule") as? String == "Kernel Module Configuration File Modified" },
                "\(modified.map { jsonField($0, "audisp_lkm") ?? "" })")
        // The clause that excluded each: perl's process name; sed's name and temporary file.
        let perl = try #require(Self.change(changes, id: Self.events(naming: "\(m)/lkmrep-perl.conf", "CREATE", by: "openat")[0],
                                            path: "\(m)/lkmrep-perl.conf"))
        #expect((jsonField(perl, "audisp_lkm.excluded_by") as? String)?.contains("process.name == \"perl\"") == true)
        let sedTemporary = try #require(changes.first { (jsonField($0, "file.name") as? String)?.hasPrefix("sed") == true })
        #expect(jsonField(sedTemporary, "audisp_lkm.decision") as? String == "excluded")
        #expect((jsonField(sedTemporary, "audisp_lkm.excluded_by") as? String)?.contains("sed") == true)
        // A rename out of a place keeps where it came from.
        let out = try #require(changes.first { jsonField($0, "file.path") as? String == "/var/tmp/lkmrep-out.conf" })
        #expect(jsonField(out, "file.Ext.original.path") as? String == "\(m)/lkmrep-b.conf")
        // Made while auditd was stopped: no creation, only its later deletion.
        #expect(!changes.contains { jsonField($0, "file.path") as? String == "\(m)/lkmrep-unseen.conf" && jsonField($0, "event.action") as? String == "creation" })
        // Every watch of the detector removed is a tampering alert.
        let removals = Self.lines.filter { $0.hasPrefix("type=CONFIG_CHANGE") && $0.contains("op=remove_rule key=\"audisp-lkm\"") && $0.contains("res=1") }
        let tampering = changes.filter { jsonField($0, "event.action") as? String == "audit-watch-removed" }
        #expect(!removals.isEmpty)
        #expect(Set(tampering.compactMap { jsonField($0, "event.id") as? String }) == Set(removals.map(Self.eventID)))
        #expect(tampering.allSatisfy { jsonField($0, "audisp_lkm.decision") as? String == "alert" })
        // The process totals: each change under its executable, a rules change under "(audit rules)".
        var processes: [String: Int] = [:]
        for change in changes {
            let rules = (jsonField(change, "event.category") as? [String]) == ["configuration"]
            processes[rules ? "(audit rules)" : jsonField(change, "process.executable") as? String ?? "(unknown)", default: 0] += 1
        }
        let byProcess = try #require(jsonField(summary, "audisp_lkm.totals.process") as? [[String: Any]])
        #expect(Dictionary(uniqueKeysWithValues: byProcess.compactMap { entry in (entry["value"] as? String).map { ($0, entry["count"] as? Int ?? 0) } })
                == processes)
        #expect(processes["(audit rules)"] ?? 0 >= tampering.count && processes.count > 2)
    }

    @Test("control bytes in a node= name and an ENRICHED name reach no report format raw", arguments: ["text", "csv", "html"])
    func controlBytes(format: String) throws {
        try withTemporaryDirectory { directory in
            var log: [UInt8] = []
            for line in try recordLines(URL(fileURLWithPath: Self.logs[1])) {
                let text = "node=ev\u{1B}]0;pwn\u{07}il " + line.text.replacingOccurrences(of: "EUID=\"root\"", with: "EUID=\"x\u{1B}[2J\u{0B}y\"")
                log += Array(text.utf8) + [0x0A]
            }
            let path = directory.appendingPathComponent("control.log")
            try Data(log).write(to: path)
            let run = try audispLKM(["report", "--format", format, path.path])
            let raw = run.out.utf8.filter { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
            #expect(raw.isEmpty, "\(raw.count) raw control bytes in \(format)")
            #expect(run.out.contains("ev\\x1b]0;pwn\\x07il"))
            #expect(run.out.contains("x\\x1b[2J\\x0by"))
        }
    }

    @Test("evidence completeness: auditd's stop and start is a gap, the rotation and the watch removals are marked")
    func completeness() throws {
        let (_, summary, _) = try Self.report(Self.logs)
        let hosts = try #require(jsonField(summary, "audisp_lkm.hosts") as? [[String: Any]])
        #expect(hosts.count == 1)
        let host = try #require(hosts.first)
        let end = try #require(Self.lines.first { $0.hasPrefix("type=DAEMON_END") })
        let start = try #require(Self.lines.first { $0.hasPrefix("type=DAEMON_START") })
        let rotate = try #require(Self.lines.first { $0.hasPrefix("type=DAEMON_ROTATE") })
        func iso(_ id: String) -> String {
            let formatter = ISO8601DateFormatter()
            return formatter.string(from: Date(timeIntervalSince1970: Self.time(ofEvent: id).rounded(.down)))
        }
        let gaps = try #require(host["gaps"] as? [[String: Any]])
        #expect(gaps.contains { $0["from"] as? String == iso(Self.eventID(end)) && $0["to"] as? String == iso(Self.eventID(start))
                && ($0["reason"] as? String)?.hasPrefix("auditd stopped") == true && $0["partial"] as? Bool == false }, "\(gaps)")
        #expect(gaps.contains { $0["partial"] as? Bool == true && ($0["reason"] as? String)?.contains("watch removed") == true })
        let marks = try #require(host["marks"] as? [[String: Any]])
        #expect(marks.contains { $0["kind"] as? String == "log-rotated" && $0["id"] as? String == Self.eventID(rotate) })
        #expect(marks.contains { $0["kind"] as? String == "auditd-end" } && marks.contains { $0["kind"] as? String == "auditd-start" })
        #expect(marks.contains { $0["kind"] as? String == "watch-added" } && marks.contains { $0["kind"] as? String == "watch-removed" })
        #expect(host["first_record"] as? String == iso(Self.eventID(Self.lines.first!)))
    }

    @Test("auditd killed (kill -9, no end record): a gap from its last record to the next start; across --since, from --since, not 'logs not given'")
    func uncleanStop() throws {
        let formatter = ISO8601DateFormatter()
        let iso = { (time: Double) in formatter.string(from: Date(timeIntervalSince1970: time.rounded(.down))) }
        func host(_ arguments: [String]) throws -> (gaps: [[String: Any]], losses: Int?) {
            let hosts = try #require(jsonField(try Self.report(arguments).summary, "audisp_lkm.hosts") as? [[String: Any]])
            return (try #require(hosts.first?["gaps"] as? [[String: Any]]), hosts.first?["loss_notices"] as? Int)
        }
        // Recorded by Tests/Fixtures/record-unclean-stop.sh: a marker, auditd killed, a
        // marker the kernel dropped, auditd started, a marker.
        let log = TestData.kernelFixture("unclean-stop/audit.log").path
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(!lines.contains { $0.hasPrefix("type=DAEMON_END") } && !lines.contains { $0.contains("lkm-unclean: while-down") })
        let startIndex = try #require(lines.firstIndex { $0.hasPrefix("type=DAEMON_START") })
        let started = Self.time(ofEvent: Self.eventID(lines[startIndex]))
        let lastBefore = Self.time(ofEvent: Self.eventID(lines[startIndex - 1]))
        try #require(started - lastBefore > 2, "the recording's stop lasts over two seconds")
        func isUnclean(_ gap: [String: Any], from: String) -> Bool {
            gap["from"] as? String == from && gap["to"] as? String == iso(started)
                && (gap["reason"] as? String)?.hasPrefix("auditd stopped without an end record") == true
        }
        let whole = try host([log])
        #expect(whole.gaps.contains { isUnclean($0, from: iso(lastBefore)) }, "\(whole.gaps)")
        #expect(whole.losses == 1)
        // Logs given newest first (here a copy of the last record, as a later file): the
        // stop is still dated from the record before the start in its own log.
        try withTemporaryDirectory { directory in
            let later = directory.appendingPathComponent("later.log").path
            try (lines.last! + "\n").write(toFile: later, atomically: false, encoding: .utf8)
            let reordered = try host([later, log])
            #expect(reordered.gaps.contains { isUnclean($0, from: iso(lastBefore)) }, "\(reordered.gaps)")
        }
        // --since inside the stop: the logs hold a record before it, so the silence from
        // --since is the stop's, not older logs missing.
        let since = iso(lastBefore + 1)
        let across = try host(["--since", since, log])
        #expect(across.gaps.contains { isUnclean($0, from: since) }, "\(across.gaps)")
        #expect(!across.gaps.contains { ($0["reason"] as? String)?.hasPrefix("no records before") == true }, "\(across.gaps)")
        #expect(across.losses == 1)
        // The report fixture's stop has its end record: across --since it is a stop, and no loss.
        let end = try #require(Self.lines.first { $0.hasPrefix("type=DAEMON_END") })
        let start = try #require(Self.lines.first { $0.hasPrefix("type=DAEMON_START") })
        let cleanSince = iso(Self.time(ofEvent: Self.eventID(end)) + 1)
        let clean = try host(["--since", cleanSince] + Self.logs)
        #expect(clean.gaps.contains { $0["from"] as? String == cleanSince && $0["to"] as? String == iso(Self.time(ofEvent: Self.eventID(start)))
                && ($0["reason"] as? String)?.hasPrefix("auditd stopped until it started again") == true }, "\(clean.gaps)")
        #expect(clean.losses == 0)
    }

    @Test("a fleet log whose hosts reuse serials and inodes: each host keeps its own changes, none merged or lost")
    func fleet() throws {
        let single = try Self.report(Self.logs)
        let fleet = try Self.report([Self.fleet])
        #expect(fleet.changes.count == 2 * single.changes.count)
        for host in ["alpha", "beta"] {
            let own = fleet.changes.filter { jsonField($0, "host.name") as? String == host }
            #expect(own.count == single.changes.count, "\(host)")
            let key: ([String: Any]) -> String = { "\(jsonField($0, "event.id") ?? "")|\(jsonField($0, "file.path") ?? "")|\(jsonField($0, "audisp_lkm.decision") ?? "")" }
            #expect(Set(own.map(key)) == Set(single.changes.map(key)), "\(host)")
        }
        let hosts = try #require(jsonField(fleet.summary, "audisp_lkm.hosts") as? [[String: Any]])
        #expect(hosts.compactMap { $0["name"] as? String } == ["alpha", "beta"])
        let byHost = try #require(jsonField(fleet.summary, "audisp_lkm.totals.host") as? [[String: Any]])
        #expect(byHost.allSatisfy { $0["count"] as? Int == single.changes.count })
    }

    @Test("the period: --since includes an event at that very millisecond, --until excludes it; ausearch's words are accepted")
    func period() throws {
        let id = try #require(Self.events(naming: "/etc/modprobe.d/lkmrep-a.conf", "CREATE", by: "openat").first)
        let (seconds, millis) = (Int(id.split(separator: ".")[0])!, String(id.split(separator: ".")[1].prefix(3)))
        let formatter = ISO8601DateFormatter()
        let at = String(formatter.string(from: Date(timeIntervalSince1970: Double(seconds))).dropLast()) + ".\(millis)Z"
        let from = try Self.report(["--since", at] + Self.logs)
        #expect(from.changes.contains { jsonField($0, "event.id") as? String == id })
        #expect(from.changes.allSatisfy { Self.time(ofEvent: jsonField($0, "event.id") as! String) >= Self.time(ofEvent: id) })
        let before = try Self.report(["--until", at] + Self.logs)
        #expect(!before.changes.contains { jsonField($0, "event.id") as? String == id })
        #expect(before.changes.allSatisfy { Self.time(ofEvent: jsonField($0, "event.id") as! String) < Self.time(ofEvent: id) })
        // The period starts before the first record: the hosts' logs cannot vouch for the start.
        let hosts = try #require(jsonField(from.summary, "audisp_lkm.hosts") as? [[String: Any]])
        #expect((hosts.first?["gaps"] as? [[String: Any]])?.contains { ($0["reason"] as? String)?.hasPrefix("no records before") == true } == false)
        let early = try Self.report(["--since", "2026-01-01"] + Self.logs)
        let earlyHosts = try #require(jsonField(early.summary, "audisp_lkm.hosts") as? [[String: Any]])
        #expect((earlyHosts.first?["gaps"] as? [[String: Any]])?.contains { ($0["reason"] as? String)?.hasPrefix("no records before") == true } == true)
        for word in ["today", "yesterday", "this-week", "week-ago", "this-month", "this-year", "recent", "now"] {
            let run = try audispLKM(["report", "--since", word, "--format", "csv"] + Self.logs)
            #expect(run.status == 0, "\(word): \(run.err)")
        }
        let bad = try audispLKM(["report", "--since", "last-tuesday"] + Self.logs)
        #expect(bad.status == 2)
        #expect(bad.err.contains("cannot read the time \"last-tuesday\""), "\(bad.err)")
    }

    @Test("html is one well-formed page: every alert's and exclusion's event id, the rest grouped with counts; csv loads with a standard parser, one row per change")
    func htmlAndCSV() throws {
        let (changes, _, _) = try Self.report(Self.logs)
        try withTemporaryDirectory { directory in
            let page = directory.appendingPathComponent("evidence.html").path
            let html = try audispLKM(["report", "--format", "html", "-o", page] + Self.logs)
            #expect(html.status == 0, "\(html.err)")
            // Python's own HTML parser: every element closed in order, no script, no external asset.
            let checker = """
                import html.parser, sys
                VOID = {"meta", "br", "wbr", "path", "rect", "line", "img", "hr", "input", "link"}
                class Page(html.parser.HTMLParser):
                    def __init__(self):
                        super().__init__(); self.open = []; self.rows = 0; self.svg = 0
                    def handle_starttag(self, tag, attributes):
                        assert tag not in ("script", "link", "img", "iframe"), tag
                        for name, value in attributes:
                            assert name not in ("src", "href") or not value or value.startswith(("http://www.w3.org", "#")), (name, value)
                        if tag == "svg": self.svg += 1
                        if tag == "tr": self.rows += 1
                        if tag not in VOID: self.open.append(tag)
                    def handle_endtag(self, tag):
                        if tag in VOID: return
                        assert self.open and self.open[-1] == tag, (tag, self.open[-3:])
                        self.open.pop()
                page = Page(); page.feed(open(sys.argv[1], encoding="utf-8").read()); page.close()
                assert page.open == ["html"] or page.open == [], page.open
                print(page.svg)
                """
            let svgs = try runCommand("/usr/bin/python3", ["-c", checker, page])
            #expect(Int(svgs.trimmingCharacters(in: .whitespacesAndNewlines)) == 1, "\(svgs)")
            let text = try String(contentsOfFile: page, encoding: .utf8)
            // Alerts and exclusions each a row with its event id; tampering one row per
            // burst; everything else grouped, its counts adding up to the changes.
            var listed = 0
            for change in changes where ["alert", "excluded"].contains(jsonField(change, "audisp_lkm.decision") as? String ?? "")
                && jsonField(change, "file") != nil {
                let id = try #require(jsonField(change, "event.id") as? String)
                #expect(text.contains(">\(id)<"), "\(id) missing from the page")
                listed += 1
            }
            let tamper = changes.filter { jsonField($0, "event.action") as? String == "audit-watch-removed" }.count
            #expect(text.contains("Tampering with the audit rules (1 bursts)"), "\(tamper) rule changes")
            #expect(text.contains("Everything else, grouped (\(changes.count - listed - tamper) changes)"))
            #expect(!FileManager.default.fileExists(atPath: page + ".partial"))

            let csv = try audispLKM(["report", "--format", "csv"] + Self.logs)
            let file = directory.appendingPathComponent("changes.csv").path
            try csv.out.write(toFile: file, atomically: false, encoding: .utf8)
            let rows = try runCommand("/usr/bin/python3", ["-c", """
                import csv, sys
                rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
                assert all(len(row) == len(rows[0]) for row in rows), "ragged"
                print(len(rows) - 1, rows[0][2], rows[0][13])
                """, file])
            #expect(rows.trimmingCharacters(in: .whitespacesAndNewlines) == "\(changes.count) event id decision", "\(rows)")
        }
    }
}
