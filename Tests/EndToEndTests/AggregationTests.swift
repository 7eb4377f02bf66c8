import Foundation
import Glibc
import Testing
import TestSupport

/// Many hosts, one detector, for real: a second auditd started from its own configuration
/// directory as an aggregator on a loopback port (`local_events = no`,
/// `distribute_network = yes`), audisp-lkm as its plugin, and this machine's auditd
/// forwarding to it through audisp-remote with a node name (`name_format = user`).
/// Everything changed is put back. Needs root, a running auditd and audisp-remote
/// (audispd-plugins); mandatory under `.ci/run`.
@Suite("Aggregation through auditd's remote logging", .serialized)
struct AggregationTests {
    static let remote = "/sbin/audisp-remote"
    static var available: Bool { auditdIsRunning && FileManager.default.isExecutableFile(atPath: remote) }
    static let sender = "lkm-sender-\(UInt16.random(in: 1 ... .max))"
    /// The sender's files this test changes. Each original is renamed aside and renamed
    /// back afterwards, so it returns as it was: bytes, inode, owner, mode and times.
    static let changed = ["/etc/audit/auditd.conf", "/etc/audit/audisp-remote.conf", "/etc/audit/plugins.d/au-remote.conf"]
    static func aside(_ path: String) -> String { path + ".lkmagg-original" }

    @Test("a creation on the sender yields one alert on the aggregator, naming the sender; the state report counts per host",
          .enabled(if: available || TestData.mandatory))
    func senderToAggregator() throws {
        try #require(Self.available, "needs root, a running auditd and audisp-remote (apt-get install audispd-plugins)")
        try withSystemAuditLock {
            try withTemporaryDirectory { directory in
                try exercise(directory)
            }
        }
    }

    /// The main auditd's pid, from the kernel.
    static func mainAuditd() -> pid_t? {
        guard let status = try? runCommand("/sbin/auditctl", ["-s"]),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("pid ") }) else { return nil }
        return pid_t(line.dropFirst(4))
    }

    /// Stops and starts this machine's auditd (auditd 3.0.9's dispatcher, once it stopped
    /// for want of plugins, delivers nothing to the ones a later SIGHUP brings back).
    static func restartMainAuditd() throws {
        try runCommand("/sbin/auditctl", ["--signal", "TERM"])
        _ = eventually(seconds: 10) { !auditdIsRunning }
        try runCommand("/sbin/auditd", [])
        _ = eventually(seconds: 10) { auditdIsRunning }
    }

    /// Sets `key = value` in an auditd-style file (appended when absent).
    static func set(_ key: String, _ value: String, in text: String) -> String {
        var found = false
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let name = line.split(separator: "=", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces)
            guard name == key, !line.hasPrefix("#") else { return String(line) }
            found = true
            return "\(key) = \(value)"
        }
        if !found { lines.insert("\(key) = \(value)", at: max(0, lines.count - 1)) }
        return lines.joined(separator: "\n")
    }

    private func exercise(_ directory: URL) throws {
        for path in Self.changed {
            try #require(!FileManager.default.fileExists(atPath: Self.aside(path)),
                         "\(Self.aside(path)) exists (an interrupted run?): put it back as \(path) first")
        }
        var setAside: [String] = []
        let port = Int.random(in: 20_000 ... 40_000)
        let made = !FileManager.default.fileExists(atPath: "/etc/modprobe.d")
        let planted = "/etc/modprobe.d/lkmagg-\(UInt32.random(in: 0 ... .max)).conf"
        var aggregator: pid_t?
        defer {
            unlink(planted)
            if made { rmdir("/etc/modprobe.d") }
            _ = try? runCommand("/sbin/auditctl", ["-D", "-k", "lkmagg"])
            if let aggregator {
                kill(aggregator, SIGTERM)
                _ = eventually(seconds: 5) { kill(aggregator, 0) != 0 }
            }
            // Then this machine's auditd as it was (it writes its pid file again, which the
            // aggregator's exit removed), with no stale dispatcher.
            for path in setAside { rename(Self.aside(path), path) }
            try? Self.restartMainAuditd()
            _ = eventually(seconds: 5) { (try? runCommand("/usr/bin/pgrep", ["-x", "audisp-remote"])) == nil }
        }

        // The aggregator: no local events, network events to its plugins, audisp-lkm as one.
        let plugins = directory.appendingPathComponent("plugins.d")
        try FileManager.default.createDirectory(at: plugins, withIntermediateDirectories: false)
        let alerts = directory.appendingPathComponent("alerts.json").path
        let state = directory.appendingPathComponent("state").path
        try """
            local_events = no
            write_logs = yes
            log_file = \(directory.path)/audit.log
            log_format = ENRICHED
            flush = INCREMENTAL_ASYNC
            freq = 50
            max_log_file = 8
            num_logs = 2
            max_log_file_action = ROTATE
            name_format = NONE
            space_left = 75
            space_left_action = SYSLOG
            admin_space_left = 50
            admin_space_left_action = SYSLOG
            disk_full_action = SYSLOG
            disk_error_action = SYSLOG
            tcp_listen_port = \(port)
            tcp_listen_queue = 5
            tcp_max_per_addr = 1
            use_libwrap = no
            distribute_network = yes
            q_depth = 2000
            overflow_action = SYSLOG
            plugin_dir = \(plugins.path)
            end_of_event_timeout = 2

            """.write(to: directory.appendingPathComponent("auditd.conf"), atomically: false, encoding: .utf8)
        try "output = file\nfile = \(alerts)\nformat = json\nmanage_watches = no\nstate_file = \(state)\nstate_directory = none\n"
            .write(to: directory.appendingPathComponent("lkm.conf"), atomically: false, encoding: .utf8)
        try """
            active = yes
            direction = out
            path = \(TestData.executable.path)
            type = always
            args = --config \(directory.path)/lkm.conf
            format = string

            """.write(to: plugins.appendingPathComponent("audisp-lkm.conf"), atomically: false, encoding: .utf8)
        for file in ["auditd.conf", "lkm.conf", "plugins.d/audisp-lkm.conf"] {
            chmod(directory.appendingPathComponent(file).path, 0o640)
        }
        try runCommand("/sbin/auditd", ["-c", directory.path])
        #expect(eventually(seconds: 5) {
            aggregator = (try? runCommand("/usr/bin/pgrep", ["-f", "auditd -c \(directory.path)$"]))
                .flatMap { $0.split(separator: "\n").first }.flatMap { pid_t($0) }
            return aggregator != nil
        }, "the aggregating auditd did not start")

        // The sender: this machine's auditd names its records and forwards them.
        let edits: [(String) -> String] = [
            { Self.set("name", Self.sender, in: Self.set("name_format", "USER", in: $0)) },
            { Self.set("remote_server", "127.0.0.1", in: Self.set("port", "\(port)", in: $0)) },
            { Self.set("active", "yes", in: $0) },
        ]
        for (path, edit) in zip(Self.changed, edits) {
            let original = try String(contentsOfFile: path, encoding: .utf8)
            try #require(rename(path, Self.aside(path)) == 0, "\(path): \(String(cString: strerror(errno)))")
            setAside.append(path)
            try edit(original).write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, 0o640)
        }
        let log = directory.appendingPathComponent("audit.log").path
        // Connected once the aggregator logs a record of the sender's (a marker sent now).
        func connected(within seconds: Double) -> Bool {
            eventually(seconds: seconds) {
                _ = try? runCommand("/sbin/auditctl", ["-m", "lkmagg connection probe"])
                return ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("node=\(Self.sender) type=USER")
            }
        }
        let main = try #require(Self.mainAuditd())
        kill(main, SIGHUP)
        if !connected(within: 5) { try Self.restartMainAuditd() }
        #expect(connected(within: 15), "no record of \(Self.sender) reached the aggregator")

        if made { try FileManager.default.createDirectory(atPath: "/etc/modprobe.d", withIntermediateDirectories: false) }
        try runCommand("/sbin/auditctl", ["-a", "always,exit", "-F", "arch=b64", "-F", "path=/etc/modprobe.d", "-F", "perm=wa", "-k", "lkmagg"])
        try runCommand("/bin/sh", ["-c", "echo 'install usb-storage /bin/true' > '\(planted)'"])
        var documents: [[String: Any]] = []
        #expect(eventually(seconds: 15) {
            documents = ((try? String(contentsOfFile: alerts, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.filter { ($0["file"] as? [String: Any])?["path"] as? String == planted }
            return !documents.isEmpty
        }, "no alert on the aggregator for \(planted)")
        usleep(500_000)
        #expect(documents.count == 1)
        let alert = try #require(documents.first)
        #expect((alert["host"] as? [String: Any])?["name"] as? String == Self.sender)
        #expect((alert["event"] as? [String: Any])?["action"] as? String == "creation")
        #expect((alert["process"] as? [String: Any])?["executable"] as? String == "/usr/bin/dash")

        let plugin = try #require(try? runCommand("/usr/bin/pgrep", ["-x", "-P", "\(aggregator ?? 0)", "audisp-lkm"]))
            .split(separator: "\n").first.flatMap { pid_t($0) }
        kill(try #require(plugin), SIGUSR1)
        #expect(eventually { stateReport(URL(fileURLWithPath: state))["host \(Self.sender)"]?.contains("alerts 1,") == true },
                "\(stateReport(URL(fileURLWithPath: state)))")
    }
}
