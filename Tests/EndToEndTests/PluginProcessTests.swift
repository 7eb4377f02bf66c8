import Foundation
import Glibc
import RuleEngine
import Testing
import TestSupport

/// The plugin as auditd runs it: a child process fed on standard input, with an empty
/// environment, a configuration file, and signals.
final class PluginProcess {
    let process = Foundation.Process()
    let input = Pipe()
    private let errors = Pipe()
    private let collected = Collected()

    private final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func append(_ more: Data) { lock.withLock { data.append(more) } }
        var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
    }

    init(configuration: URL) throws {
        process.executableURL = TestData.executable
        process.arguments = ["--config", configuration.path]
        process.environment = [:]
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        let collected = collected
        errors.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            collected.append(data)
        }
        try process.run()
    }

    /// What the plugin wrote on standard error so far.
    var standardError: String { collected.text }

    func write(_ bytes: [UInt8]) throws { try input.fileHandleForWriting.write(contentsOf: Data(bytes)) }

    func closeInput() throws { try input.fileHandleForWriting.close() }

    /// Waits up to `seconds` for the plugin to exit; its status, or nil if it did not.
    func waitForExit(seconds: Double = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { return nil }
        errors.fileHandleForReading.readabilityHandler = nil
        return process.terminationStatus
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

/// Polls `condition` every 10 ms for up to `seconds`.
func eventually(seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
        if try condition() { return true }
        usleep(10_000)
    } while Date() < deadline
    return false
}

/// A `key = value` state report, read into a dictionary.
func stateReport(_ url: URL) -> [String: String] {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [:] }
    var values: [String: String] = [:]
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.count == 2 { values[parts[0]] = parts[1] }
    }
    return values
}

private let fixture = TestData.kernelFixture("x86_64-i386.log")

/// The `sec.ms:serial` of the fixture's first creation (step 1, openat O_CREAT).
private func creationSerial(in records: [[UInt8]]) -> Substring {
    let path = records.first { $0.text.contains("lkmfix-openat.conf") && $0.text.contains("nametype=CREATE") }!
    return path.text.split(separator: "(")[1].split(separator: ")")[0]
}

/// A configuration file in `directory` with `settings` and the state file there. No
/// baseline unless `settings` name one: these plugins read records fed to them, not this
/// host's places (BlindWindowTests covers the baseline).
func pluginConfiguration(in directory: URL, _ settings: String) throws -> URL {
    let url = directory.appendingPathComponent("audisp-lkm.conf")
    let baseline = settings.contains("state_directory") ? "" : "state_directory = none\n"
    try (settings + "\nstate_file = \(directory.path)/state\n" + baseline).write(to: url, atomically: true, encoding: .utf8)
    return url
}

/// The alerts `replay` raises on the fixture: what the plugin must raise from the same
/// records (24 of the rule, one of the modification rule: lkmops open-existing, and two
/// borrowed exclusions: the script in /var/tmp named droplet-agent.postinst).
private let fixtureAlerts = 27

@Suite("The plugin process: output faults, signals, end of input", .serialized)
struct PluginProcessTests {
    /// A configuration in `directory` with `settings` plus the state file there. The
    /// plugin leaves the kernel's watches alone (WatchManagementTests covers that).
    func configuration(in directory: URL, _ settings: String) throws -> URL {
        try pluginConfiguration(in: directory, settings + "\nmanage_watches = no")
    }

    func lines(_ url: URL) -> [String] {
        ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test("alerts match replay's, and each leaves on its EOE record without waiting for more input")
    func promptAlerts() throws {
        try withTemporaryDirectory { directory in
            let alerts = directory.appendingPathComponent("alerts.log")
            let plugin = try PluginProcess(configuration: configuration(in: directory, "output = file\nfile = \(alerts.path)"))
            // One creation event, closed by EOE as auditd sends it to plugins.
            let records = try recordLines(fixture)
            let serial = creationSerial(in: records)
            let event = records.filter { $0.text.contains("(\(serial))") }
            try plugin.write(joined(event) + Array("type=EOE msg=audit(\(serial)): \n".utf8))
            // The end-of-event timeout is 2 s of stream time: an alert within 1.9 s left on
            // the EOE itself.
            #expect(eventually(seconds: 1.9) { lines(alerts).count == 1 }, "the alert waited for more input")
            try plugin.write(joined(records))
            try plugin.closeInput()
            #expect(plugin.waitForExit() == 0)
            #expect(lines(alerts).count == fixtureAlerts)
            let state = stateReport(directory.appendingPathComponent("state"))
            #expect(state["alerts"] == "\(fixtureAlerts - 3)")
            #expect(state["modification_alerts"] == "1")
            #expect(state["borrowed_exclusions"] == "2")
            #expect(state["alerts_delivered"] == "\(fixtureAlerts)")
            #expect(state["records"] == "\(records.count + event.count + 1)")
        }
    }

    @Test("end of input in the middle of an event (no PROCTITLE, no EOE, no final newline) still alerts")
    func endOfInputMidEvent() throws {
        try withTemporaryDirectory { directory in
            let alerts = directory.appendingPathComponent("alerts.log")
            let plugin = try PluginProcess(configuration: configuration(in: directory, "output = file\nfile = \(alerts.path)"))
            let records = try recordLines(fixture)
            let serial = creationSerial(in: records)
            var event = joined(records.filter { $0.text.contains("(\(serial))") && !$0.text.hasPrefix("type=PROCTITLE") })
            event.removeLast()
            try plugin.write(event)
            try plugin.closeInput()
            #expect(plugin.waitForExit() == 0)
            let written = lines(alerts)
            #expect(written.count == 1)
            #expect(written.first?.contains("event_id=\(serial)") == true)
        }
    }

    @Test("SIGHUP with a broken configuration keeps the running one; a good one is applied")
    func reload() throws {
        try withTemporaryDirectory { directory in
            let alerts = directory.appendingPathComponent("alerts.log")
            let settings = try configuration(in: directory, "output = file\nfile = \(alerts.path)\nformat = text")
            let plugin = try PluginProcess(configuration: settings)
            #expect(eventually { plugin.standardError.contains("started") })
            try "output = file\nfile = \(alerts.path)\nformat = yaml\n".write(to: settings, atomically: true, encoding: .utf8)
            kill(plugin.process.processIdentifier, SIGHUP)
            #expect(eventually { plugin.standardError.contains("configuration not reloaded") })
            #expect(plugin.standardError.contains("audisp-lkm.conf:3: format: \"yaml\" is not one of json, text"))
            let records = try recordLines(fixture)
            let half = records.count / 2
            try plugin.write(joined(Array(records[..<half])))
            #expect(eventually { lines(alerts).count > 0 })
            // Still text: the old settings are in force.
            #expect(lines(alerts).allSatisfy { $0.hasPrefix("alert=") })
            try "output = file\nfile = \(alerts.path)\nformat = json\nstate_file = \(directory.path)/state\nstate_directory = none\n"
                .write(to: settings, atomically: true, encoding: .utf8)
            kill(plugin.process.processIdentifier, SIGHUP)
            // Not "configuration not reloaded" from the first SIGHUP: this one's message.
            #expect(eventually { plugin.standardError.contains("reloaded \(settings.path)") })
            try plugin.write(joined(Array(records[half...])))
            try plugin.closeInput()
            #expect(plugin.waitForExit() == 0)
            let written = lines(alerts)
            // Nothing lost across the reload; the later alerts are JSON documents.
            #expect(written.count == fixtureAlerts)
            #expect(written.contains { $0.hasPrefix("{") })
            for line in written where line.hasPrefix("{") {
                #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil)
            }
        }
    }

    @Test("SIGTERM from a process other than the parent is ignored; from the parent it stops the plugin")
    func termination() throws {
        try withTemporaryDirectory { directory in
            let state = directory.appendingPathComponent("state")
            let plugin = try PluginProcess(configuration: configuration(in: directory, "output = stdout"))
            #expect(eventually { plugin.standardError.contains("started") })
            // /bin/kill is our child, not the plugin's parent.
            let stranger = Foundation.Process()
            stranger.executableURL = URL(fileURLWithPath: "/bin/kill")
            stranger.arguments = ["-TERM", "\(plugin.process.processIdentifier)"]
            try stranger.run()
            stranger.waitUntilExit()
            #expect(eventually { plugin.standardError.contains("SIGTERM from pid \(stranger.processIdentifier) ignored") })
            #expect(plugin.waitForExit(seconds: 0.3) == nil, "a stranger's SIGTERM stopped the plugin")
            // The test process started the plugin: it is the parent, as auditd is.
            kill(plugin.process.processIdentifier, SIGTERM)
            #expect(plugin.waitForExit() == 0)
            let report = stateReport(state)
            #expect(report["ignored_sigterms"] == "1")
        }
    }

    @Test("SIGUSR1 writes the state report while running")
    func stateOnDemand() throws {
        try withTemporaryDirectory { directory in
            let state = directory.appendingPathComponent("state")
            let plugin = try PluginProcess(configuration: configuration(in: directory, "output = stdout"))
            try plugin.write(joined(try recordLines(fixture)))
            #expect(eventually { plugin.standardError.contains("started") })
            usleep(200_000)
            kill(plugin.process.processIdentifier, SIGUSR1)
            #expect(eventually { stateReport(state)["records"] == "455" })
            let report = stateReport(state)
            for key in ["uptime_seconds", "events", "file_events", "alerts", "alerts_withheld_by_cap",
                        "alerts_withheld_by_full_output_queue", "records_dropped_by_full_input_queue", "malformed_lines",
                        "input_queue_high_water_bytes", "output_queue_high_water"] {
                #expect(report[key] != nil, "\(key) missing")
            }
            try plugin.closeInput()
            #expect(plugin.waitForExit() == 0)
        }
    }

    @Test("started as root: warns about every place the rule covers that no kernel watch covers, then drops all capabilities",
          .enabled(if: getuid() == 0 || TestData.mandatory))
    func startUpChecks() throws {
        try #require(getuid() == 0, "needs root")
        try withTemporaryDirectory { directory in
            // The built-in rule with one more place, which no machine watches.
            let rule = directory.appendingPathComponent("rule.toml")
            try DetectionRule.defaultRuleTOML
                .replacingOccurrences(of: "\"/etc/modules\", ", with: "\"/etc/modules\", \"/nonexistent-lkm-test/*\", ")
                .write(to: rule, atomically: true, encoding: .utf8)
            let plugin = try PluginProcess(configuration: configuration(in: directory, "output = stdout\nrule = \(rule.path)"))
            #expect(eventually { plugin.standardError.contains("started") })
            #expect(plugin.standardError.contains("warning: no audit watch covers /nonexistent-lkm-test/"))
            let status = try String(contentsOfFile: "/proc/\(plugin.process.processIdentifier)/status", encoding: .utf8)
            for set in ["CapEff", "CapPrm", "CapBnd"] {
                #expect(status.contains("\(set):\t0000000000000000"), "\(set) not empty")
            }
            try plugin.closeInput()
            #expect(plugin.waitForExit() == 0)
        }
    }

    @Test("started as root, it refuses a settings file, a rule file or a state directory that others can write",
          .enabled(if: getuid() == 0 || TestData.mandatory))
    func refusesUnsafeOwnFiles() throws {
        try #require(getuid() == 0, "needs root")
        try withTemporaryDirectory { directory in
            let rule = directory.appendingPathComponent("rule.toml")
            try DetectionRule.defaultRuleTOML.write(to: rule, atomically: true, encoding: .utf8)
            let state = directory.appendingPathComponent("state-directory").path
            let settings = try configuration(in: directory, "output = stdout\nrule = \(rule.path)\nstate_directory = \(state)")
            func start() throws -> (status: Int32?, error: String) {
                let plugin = try PluginProcess(configuration: settings)
                let status = plugin.waitForExit(seconds: 10)
                if status == nil { kill(plugin.process.processIdentifier, SIGKILL) }
                return (status, plugin.standardError)
            }
            for (path, mode) in [(settings.path, mode_t(0o666)), (rule.path, 0o664)] {
                chmod(path, mode)
                let refused = try start()
                chmod(path, 0o644)
                #expect(refused.status == 1, "\(path)")
                #expect(refused.error.contains("not started: \(path) can be written by group or others"), "\(refused.error)")
            }
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
            chmod(state, 0o777)
            let refused = try start()
            #expect(refused.status == 1 && refused.error.contains("not started: state directory: \(state) can be written"), "\(refused.error)")
            // Made safe, it starts, records the baseline and says so.
            chmod(state, 0o700)
            let plugin = try PluginProcess(configuration: settings)
            #expect(eventually { plugin.standardError.contains("started") })
            #expect(plugin.standardError.contains("baseline of the places recorded in \(state)/baseline"))
            try plugin.closeInput()
            #expect(plugin.waitForExit() == 0)
            #expect(FileManager.default.fileExists(atPath: state + "/baseline"))
        }
    }

    @Test("SIGHUP reopens the output file, as logrotate needs")
    func reopenOnHangUp() throws {
        try withTemporaryDirectory { directory in
            let alerts = directory.appendingPathComponent("alerts.log")
            let rotated = directory.appendingPathComponent("alerts.log.1")
            let plugin = try PluginProcess(configuration: configuration(in: directory, "output = file\nfile = \(alerts.path)"))
            let records = try recordLines(fixture)
            let half = records.count / 2
            try plugin.write(joined(Array(records[..<half])))
            #expect(eventually { lines(alerts).count > 0 })
            try FileManager.default.moveItem(at: alerts, to: rotated)
            kill(plugin.process.processIdentifier, SIGHUP)
            #expect(eventually { plugin.standardError.contains("reloaded") })
            try plugin.write(joined(Array(records[half...])))
            try plugin.closeInput()
            #expect(plugin.waitForExit() == 0)
            #expect(lines(rotated).count > 0 && lines(alerts).count > 0)
            #expect(lines(rotated).count + lines(alerts).count == fixtureAlerts)
        }
    }

    @Test("a syslog daemon that is missing or not reading never stalls the input; alerts are withheld, counted, reported",
          arguments: [false, true])
    func syslogFaults(socketExists: Bool) throws {
        try withTemporaryDirectory { directory in
            let socketPath = directory.appendingPathComponent("log.sock").path
            let receiver = DatagramReceiver()
            if socketExists { try receiver.bind(socketPath) }
            let plugin = try PluginProcess(configuration: configuration(in: directory, """
                output = syslog
                syslog_socket = \(socketPath)
                output_queue = 5
                """))
            // All of the input is taken although nothing can be delivered.
            try plugin.write(joined(try recordLines(fixture)))
            #expect(eventually { plugin.standardError.contains("failed") })
            // The state report says why, while it lasts.
            let state = directory.appendingPathComponent("state")
            let failure = socketExists ? "send to \(socketPath): Resource temporarily unavailable"
                                       : "connect \(socketPath): No such file or directory"
            kill(plugin.process.processIdentifier, SIGUSR1)
            #expect(eventually { stateReport(state)["output_error"] == failure }, "\(stateReport(state))")
            if !socketExists { try receiver.bind(socketPath) }
            // The daemon (re)appears or starts reading: what was queued arrives, then the notice.
            var messages: [String] = []
            _ = eventually(seconds: 10) {
                messages += receiver.receiveAll()
                return messages.contains { $0.contains("withheld") }
            }
            // Keep reading, as a syslog daemon does, while the plugin delivers the rest and exits.
            try plugin.closeInput()
            _ = eventually(seconds: 10) {
                messages += receiver.receiveAll()
                return !plugin.process.isRunning
            }
            #expect(plugin.waitForExit() == 0)
            messages += receiver.receiveAll()
            let alerts = messages.filter { $0.contains("alert=") }
            // `audisp_lkm=notice message="N alerts withheld: ..."`, once per recovery.
            let withheld = messages.filter { $0.contains("audisp_lkm=notice") }.map { notice in
                Int(notice.split(separator: "\"").last { $0.contains("withheld") }?.split(separator: " ").first ?? "") ?? 0
            }.reduce(0, +)
            #expect(withheld > 0, "no withheld notice in \(messages)")
            #expect(alerts.count + withheld == fixtureAlerts)
            let report = stateReport(state)
            #expect(report["output_error"] == "none")
            #expect(report["alerts_withheld_by_full_output_queue"] == "\(withheld)")
            #expect(report["records_dropped_by_full_input_queue"] == "0")
            #expect(report["alerts_delivered"] == "\(alerts.count)")
            // The messages are syslog(3)'s: <PRI>timestamp ident[pid]: text, authpriv.warning by default.
            #expect(alerts.allSatisfy { $0.hasPrefix("<84>") && $0.contains(" audisp-lkm[\(plugin.process.processIdentifier)]: alert=") })
        }
    }
}

/// A Unix datagram socket standing in for the syslog daemon. Not reading it fills it
/// after `net.unix.max_dgram_qlen` datagrams (10 by default).
final class DatagramReceiver {
    private var descriptor: CInt = -1

    func bind(_ path: String) throws {
        descriptor = socket(AF_UNIX, CInt(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8) }
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno)!) }
    }

    /// The datagrams waiting now.
    func receiveAll() -> [String] {
        guard descriptor >= 0 else { return [] }
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, CInt(MSG_DONTWAIT)) }
            if count <= 0 { return messages }
            messages.append(String(decoding: buffer[..<count], as: UTF8.self))
        }
    }

    /// Stops listening and leaves the socket file, as a daemon that died does.
    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    deinit { close() }
}
