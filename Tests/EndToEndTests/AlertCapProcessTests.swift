import Foundation
import Glibc
import Testing
import TestSupport

/// The plugin's cap, live: per group, a ceiling, summaries within seconds, windows by the
/// clock. Records are the kernel fixture's first creation, copied with other programs and
/// names (`creationRecords`).
@Suite("The plugin's alert cap: a flood never hides another program's alert", .serialized)
struct AlertCapProcessTests {
    /// The JSON lines of the alert file once `done` holds of them (`seconds` at most).
    func documents(_ url: URL, seconds: Double, until done: ([[String: Any]]) -> Bool) -> [[String: Any]] {
        var lines: [[String: Any]] = []
        _ = eventually(seconds: seconds) {
            lines = ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n")
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            return done(lines)
        }
        return lines
    }

    func action(_ document: [String: Any]) -> String? { (document["event"] as? [String: Any])?["action"] as? String }
    func executable(_ document: [String: Any]) -> String? { (document["process"] as? [String: Any])?["executable"] as? String }
    func withheld(_ document: [String: Any]) -> [String: Any] {
        ((document["audisp_lkm"] as? [String: Any])?["withheld"] as? [String: Any]) ?? [:]
    }

    func run(_ settings: String, _ feed: (PluginProcess) throws -> Void, seconds: Double = 10,
             until done: ([[String: Any]]) -> Bool) throws -> (documents: [[String: Any]], state: [String: String]) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("audisp-lkm-cap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let alerts = directory.appendingPathComponent("alerts.json")
        let plugin = try PluginProcess(configuration: pluginConfiguration(in: directory, """
            output = file
            file = \(alerts.path)
            format = json
            manage_watches = no
            \(settings)
            """))
        #expect(eventually { plugin.standardError.contains("started") })
        try feed(plugin)
        let found = documents(alerts, seconds: seconds, until: done)
        kill(plugin.process.processIdentifier, SIGUSR1)
        let state = directory.appendingPathComponent("state")
        _ = eventually { stateReport(state)["alerts"] != nil }
        let report = stateReport(state)
        try plugin.closeInput()
        #expect(plugin.waitForExit() == 0)
        return (found, report)
    }

    @Test("1,000 creations by one program and single ones by two others: every single one alerts, the flood its allowance and summaries")
    func floodAndSingles() throws {
        var records: [UInt8] = []
        var serial = 1
        for batch in 0 ..< 4 {
            records += try creationRecords(count: 250, executable: "/tmp/flooder", name: { "noise-\(batch)-\($0).conf" },
                                           serial: serial, seconds: 1_800_000_000 + batch)
            serial += 250
            for program in ["/usr/bin/touch", "/usr/bin/cp"] {
                records += try creationRecords(count: 1, executable: program, name: { _ in "single-\(batch)-\(serial).conf" },
                                               serial: serial, seconds: 1_800_000_000 + batch)
                serial += 1
            }
        }
        let started = Date()
        // Waits past one summary interval: see below.
        let (documents, state) = try run("max_alerts = 5\nalert_ceiling = unlimited\nsummary_interval = 60",
                                         { try $0.write(records) }, seconds: 75) { documents in
            documents.filter { self.action($0) == "alerts-withheld" }.compactMap { self.withheld($0)["count"] as? Int }
                .reduce(0, +) == 995
        }
        let alerts = documents.filter { action($0) == "creation" }
        #expect(alerts.filter { executable($0) == "/usr/bin/touch" }.count == 4)
        #expect(alerts.filter { executable($0) == "/usr/bin/cp" }.count == 4)
        #expect(alerts.filter { executable($0) == "/tmp/flooder" }.count == 5)
        let summaries = documents.filter { action($0) == "alerts-withheld" }
        // The first summary comes 2 s after the first withheld alert, long before the 60 s
        // interval; a plugin slowed by a loaded machine may still be withholding then, and
        // the rest follows in the next summary. Either way every withheld alert is counted
        // once, in the flood's own group.
        #expect(Date().timeIntervalSince(started) < 60 || summaries.count > 1)
        #expect(!summaries.isEmpty)
        for summary in summaries {
            #expect(executable(summary) == "/tmp/flooder")
            #expect((summary["file"] as? [String: Any])?["directory"] as? String == "/etc/modprobe.d")
            let sample = (withheld(summary)["sample"] as? [[String: Any]]) ?? []
            #expect(!sample.isEmpty && sample.count <= 10
                    && sample.allSatisfy { ($0["path"] as? String)?.contains("noise-") == true && $0["event_id"] != nil })
        }
        #expect(summaries.compactMap { withheld($0)["count"] as? Int }.reduce(0, +) == 995)
        #expect(state["alerts_withheld_by_group_allowance"] == "995")
        #expect(state["withheld_summaries"] == String(summaries.count))
    }

    @Test("a flood across many programs reaches the ceiling, which is said at once; the rest is summarised per program")
    func ceiling() throws {
        var records: [UInt8] = []
        for program in 0 ..< 10 {
            records += try creationRecords(count: 5, executable: "/tmp/p\(program)", name: { "p\(program)-\($0).conf" },
                                           serial: 1 + program * 5, seconds: 1_800_000_000 + program)
        }
        let (documents, state) = try run("max_alerts = 5\nalert_ceiling = 20\nsummary_interval = 60",
                                         { try $0.write(records) }) { documents in
            documents.filter { self.action($0) == "alerts-withheld" }.compactMap { self.withheld($0)["by_ceiling"] as? Int }
                .reduce(0, +) == 30
        }
        #expect(documents.filter { action($0) == "creation" }.count == 20)
        let notices = documents.compactMap { ($0["audisp_lkm"] as? [String: Any])?["notice"] as? String }
        #expect(notices.filter { $0.contains("alert ceiling reached: 20 alerts") }.count == 1)
        let summaries = documents.filter { action($0) == "alerts-withheld" }
        #expect(summaries.count == 6, "\(summaries.map { (executable($0) ?? "?", withheld($0)["count"] ?? "?") })")
        #expect(state["alerts_withheld_by_ceiling"] == "30" && state["alert_ceiling_reached"] == "1")
    }

    @Test("an aggregator's stream: a flood from one host never withholds another host's alert, which names its host; counts per host")
    func hosts() throws {
        // As an aggregating auditd writes them: each host's records with its node= name,
        // the same program and directory on both, serials and inodes reused.
        func from(_ node: String, _ records: [UInt8]) -> [UInt8] {
            Array(records.split(separator: 0x0A).map { "node=\(node) " + String(decoding: $0, as: UTF8.self) }.joined(separator: "\n").utf8) + [0x0A]
        }
        let flood = from("web-01", try creationRecords(count: 200, executable: "/usr/bin/cp", name: { "noise-\($0).conf" },
                                                       serial: 1, seconds: 1_800_000_000))
        let single = from("web-02", try creationRecords(count: 1, executable: "/usr/bin/cp", name: { _ in "payload.conf" },
                                                        serial: 1, seconds: 1_800_000_000))
        let (documents, state) = try run("max_alerts = 5\nalert_ceiling = unlimited\nsummary_interval = 60",
                                         { try $0.write(flood + single) }) { documents in
            documents.contains { ($0["file"] as? [String: Any])?["name"] as? String == "payload.conf" }
                && documents.contains { self.action($0) == "alerts-withheld" }
        }
        func host(_ document: [String: Any]) -> String? { (document["host"] as? [String: Any])?["name"] as? String }
        let payload = documents.filter { ($0["file"] as? [String: Any])?["name"] as? String == "payload.conf" }
        #expect(payload.count == 1 && payload.first.map(host) == "web-02")
        #expect(documents.filter { action($0) == "creation" && host($0) == "web-01" }.count == 5)
        let summaries = documents.filter { action($0) == "alerts-withheld" }
        #expect(!summaries.isEmpty && summaries.allSatisfy { host($0) == "web-01" })
        #expect(state["hosts"] == "2")
        #expect(state["host web-01"] == "file_events 200, alerts 5, withheld 195", "\(state)")
        #expect(state["host web-02"] == "file_events 1, alerts 1, withheld 0", "\(state)")
    }

    @Test("the evasion fixture through the plugin: the directory replacements alert, and the plugin keeps running")
    func replacements() throws {
        let records = try Array(Data(contentsOf: TestData.kernelFixture("evasion.log")))
        let (documents, state) = try run("max_alerts = unlimited\nalert_ceiling = unlimited\nwatch_key = lkmfix",
                                         { try $0.write(records) }) { documents in
            documents.filter { self.action($0) == "directory-replacement" }.count == 4
        }
        let replaced = documents.filter { action($0) == "directory-replacement" }
        #expect(replaced.count == 4)
        #expect(replaced.allSatisfy { ($0["rule"] as? [String: Any])?["name"] as? String == "Kernel Module Configuration Directory Replaced" })
        #expect(state["directory_replacements"] == "4")
    }

    @Test("the window rolls over: a group's allowance comes back when its window has passed")
    func rollover() throws {
        let (documents, _) = try run("max_alerts = 3\nalert_window = 2\nalert_ceiling = unlimited\nsummary_interval = 1", { plugin in
            try plugin.write(try creationRecords(count: 5, executable: "/tmp/x", name: { "a\($0).conf" }, serial: 1,
                                                 seconds: 1_800_000_000))
            usleep(2_500_000)
            try plugin.write(try creationRecords(count: 5, executable: "/tmp/x", name: { "b\($0).conf" }, serial: 100,
                                                 seconds: 1_800_000_010))
        }) { documents in
            documents.filter { self.action($0) == "creation" }.count == 6
                && documents.filter { self.action($0) == "alerts-withheld" }.compactMap { self.withheld($0)["count"] as? Int }
                    .reduce(0, +) == 4
        }
        #expect(documents.filter { action($0) == "creation" }.count == 6)
        // Two summaries of 2: the second window's withheld come a summary interval later.
        #expect(documents.filter { action($0) == "alerts-withheld" }.compactMap { withheld($0)["count"] as? Int } == [2, 2])
    }
}
