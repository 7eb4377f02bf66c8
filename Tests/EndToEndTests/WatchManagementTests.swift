import Foundation
import Glibc
import RuleEngine
import Testing
import TestSupport

/// The plugin's own watches (manage_watches = yes): loaded at start where auditctl cannot
/// (io_uring), and loaded again when the kernel's records show them removed. Changes the
/// kernel's rules under a key of its own, removed afterwards. Needs root and a running
/// auditd (the removal records are read back from its log); mandatory under `.ci/run`.
@Suite("The plugin keeps its watches", .serialized)
struct WatchManagementTests {
    @Test("io_uring watches at start, CAP_AUDIT_CONTROL kept alone; a removal alerts and is undone",
          .enabled(if: auditdIsRunning || TestData.mandatory))
    func rearm() throws {
        try #require(auditdIsRunning, "needs root and a running auditd")
        let key = "lkmtest-\(getpid())"
        func rules() -> [Substring] {
            ((try? runCommand("/sbin/auditctl", ["-l"])) ?? "").split(separator: "\n").filter { $0.hasSuffix("key=\(key)") }
        }
        try withSystemAuditLock {
            defer { _ = try? runCommand("/sbin/auditctl", ["-D", "-k", key]) }
            try withTemporaryDirectory { directory in
                let alerts = directory.appendingPathComponent("alerts.json")
                let plugin = try PluginProcess(configuration: pluginConfiguration(in: directory, """
                    output = file
                    file = \(alerts.path)
                    format = json
                    watch_key = \(key)
                    manage_watches = yes
                    """))
                #expect(eventually { plugin.standardError.contains("started") })
                // A dir= watch on each place that exists, on both tables (WatchLoader.existingDirectories).
                var isDirectory: ObjCBool = false
                let trees = DetectionRule.defaultRule().locations.filter {
                    $0.isDirectory && FileManager.default.fileExists(atPath: $0.path.text, isDirectory: &isDirectory) && isDirectory.boolValue
                }.count
                #expect(rules().filter { $0.contains(" -F dir=") }.count == 2 * trees, "\(rules())")
                // One io_uring watch (list 7, which auditctl 3.0.9 prints as "(null)") per place.
                #expect(rules().filter { $0.hasPrefix("-a always,(null)") }.count == 7, "\(rules())")
                let status = try String(contentsOfFile: "/proc/\(plugin.process.processIdentifier)/status", encoding: .utf8)
                for set in ["CapEff", "CapPrm", "CapBnd"] {
                    // CAP_AUDIT_CONTROL is capability 30.
                    #expect(status.contains("\(set):\t0000000040000000"), "\(set): \(status)")
                }

                // Remove them for real; the plugin, whose input is this test and not auditd,
                // is handed the kernel's own records of it from auditd's log.
                try runCommand(TestData.executable.path, ["watches", "remove", "--key", key])
                #expect(rules().isEmpty)
                var records: [Substring] = []
                #expect(eventually(seconds: 10) {
                    records = ((try? runCommand("/sbin/ausearch", ["--raw", "-m", "CONFIG_CHANGE", "-k", key, "--start", "recent"])) ?? "")
                        .split(separator: "\n").filter { $0.contains("op=remove_rule") }
                    return records.count == 7 + 2 * trees
                }, "removal records in auditd's log: \(records)")
                try plugin.write(Array((records.joined(separator: "\n") + "\n").utf8))

                var lines: [[String: Any]] = []
                #expect(eventually(seconds: 10) {
                    lines = ((try? String(contentsOf: alerts, encoding: .utf8)) ?? "").split(separator: "\n")
                        .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                    return lines.contains { ($0["audisp_lkm"] as? [String: Any])?["notice"] != nil }
                        && lines.contains { ($0["event"] as? [String: Any])?["action"] as? String == "audit-watch-removed" }
                }, "no re-arm notice or no removal alert: \(lines)")
                // One command removed them all: one alert, which counts them per list.
                let removals = lines.filter { ($0["event"] as? [String: Any])?["action"] as? String == "audit-watch-removed" }
                #expect(removals.count == 1)
                let first = removals.first
                let removed = (jsonField(first ?? [:], "audisp_lkm.removed") as? [[String: Any]]) ?? []
                #expect(removed.first { $0["list"] as? String == "io_uring" }?["count"] as? Int == 7, "\(removed)")
                #expect(removed.reduce(0) { $0 + ($1["count"] as? Int ?? 0) } == 7 + 2 * trees, "\(removed)")
                #expect((first?["rule"] as? [String: Any])?["name"] as? String == "Audit Watch on Kernel Module Configuration Removed")
                #expect(((first?["auditd"] as? [String: Any])?["list_name"]) as? String == "io_uring")
                #expect(((first?["user"] as? [String: Any])?["audit"] as? [String: Any])?["id"] != nil)
                let threat = (first?["threat"] as? [[String: Any]])?.first
                let technique = (threat?["technique"] as? [[String: Any]])?.first
                #expect(((technique?["subtechnique"] as? [[String: Any]])?.first?["id"]) as? String == "T1562.012")
                let notice = lines.compactMap { ($0["audisp_lkm"] as? [String: Any])?["notice"] as? String }.first ?? ""
                #expect(notice.contains("\(37 + 2 * trees) added again"), "\(notice)")
                // Every watch is back, on both system-call tables (with the mount rules and
                // io_uring_setup) and the io_uring list.
                #expect(rules().count == 37 + 2 * trees, "\(rules())")
                #expect(rules().filter { $0.contains("-S mount,open_tree,move_mount") }.count == 14)
                #expect(rules().filter { $0.contains("-S io_uring_setup") }.count == 2)

                kill(plugin.process.processIdentifier, SIGUSR1)
                let state = directory.appendingPathComponent("state")
                #expect(eventually { stateReport(state)["watch_removals"] == "1" })
                #expect(stateReport(state)["watches_rearmed"] == "\(37 + 2 * trees)")
                try plugin.closeInput()
                #expect(plugin.waitForExit() == 0)
            }
        }
    }
}
