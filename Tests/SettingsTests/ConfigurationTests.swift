import Foundation
import Outputs
import Settings
import Testing
import TestSupport

@Suite("Plugin configuration file")
struct ConfigurationTests {
    @Test("the shipped settings file parses to exactly the built-in defaults")
    func shippedFileIsTheDefaults() throws {
        let path = TestData.packageRoot.appendingPathComponent("plugin-conf/config/audisp-lkm.conf").path
        let shipped = try PluginConfiguration.load(path: path)
        #expect(shipped == PluginConfiguration())
        // Every key the plugin knows is documented in the shipped file.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for (key, value, _) in PluginConfiguration.keys {
            #expect(text.contains("\n\(key) = \(value)\n"), "the shipped file does not set \(key) to its default \(value)")
        }
    }

    @Test("values are read, with auditd's spellings of facilities and priorities")
    func values() throws {
        let configuration = try PluginConfiguration.parse("""
            # comment
              output = file
            format=json
            syslog_facility = LOG_LOCAL6
            syslog_priority = LOG_INFO
            file = /var/log/x.log
            rule = /etc/audit/lkm.toml
            max_alerts = unlimited
            alert_window = 60
            input_queue_mib = 2
            output_queue = 5
            usr_merge = no
            """, path: "t.conf")
        #expect(configuration.output == .file)
        #expect(configuration.format == .json)
        #expect(configuration.syslogPriority.description == "local6.info")
        #expect(configuration.syslogPriority.value == (22 << 3) | 6)
        #expect(configuration.file == "/var/log/x.log")
        #expect(configuration.rule == "/etc/audit/lkm.toml")
        #expect(configuration.maximumAlerts == nil)
        #expect(configuration.alertWindow == 60)
        #expect(configuration.inputQueueBytes == 2 << 20)
        #expect(configuration.outputQueueAlerts == 5)
        #expect(configuration.usrMerged == false)
    }

    @Test("bad lines are refused with the file, the line number and the reason", arguments: [
        ("output = syslog\nouptut = file", "t.conf:2: unknown key \"ouptut\""),
        ("format = xml", "t.conf:1: format: \"xml\" is not one of json, text"),
        ("\n\nsyslog_facility = mail2", "t.conf:3: syslog_facility: \"mail2\" is not one of"),
        ("max_alerts = 0", "t.conf:1: max_alerts: \"0\" is not a whole number from 1"),
        ("file = relative.log", "t.conf:1: file: \"relative.log\" is not an absolute path"),
        ("output = file\noutput = syslog", "t.conf:2: output is already set on line 1"),
        ("output", "t.conf:1: expected `key = value`"),
        ("rule =", "t.conf:1: rule has no value"),
        ("syslog_ident = a b", "t.conf:1: syslog_ident: \"a b\" must be"),
    ])
    func refused(text: String, expected: String) {
        do {
            _ = try PluginConfiguration.parse(text, path: "t.conf")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.description.hasPrefix(expected), "\(error.description)")
        }
    }

    @Test("a missing file is an error naming it")
    func missingFile() {
        #expect(throws: ConfigurationError.self) { try PluginConfiguration.load(path: "/nonexistent/audisp-lkm.conf") }
    }
}
