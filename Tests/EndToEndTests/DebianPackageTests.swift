import Foundation
import Glibc
import Testing
import TestSupport

/// The Debian package for real: built by packaging/build-deb.sh (lintian without
/// errors), installed with dpkg under the running auditd and rsyslog, an alert in the
/// alerts file, alerts forwarded whole by rsyslog to a second rsyslog on loopback, an
/// upgrade keeping an edited setting, `dpkg -r` and `dpkg --purge`. Needs root, auditd,
/// rsyslogd, dpkg-dev and lintian; mandatory under `.ci/run`.
@Suite("The Debian package, end to end", .serialized)
struct DebianPackageTests {
    static let tools = ["/usr/bin/dpkg-deb", "/usr/bin/dpkg-shlibdeps", "/usr/bin/lintian", "/usr/bin/dpkg-parsechangelog"]
    static var available: Bool {
        InstalledPluginTests.available && tools.allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }
    static let alerts = "/var/log/audisp-lkm/alerts.json"
    static let dropIn = "/etc/rsyslog.d/30-audisp-lkm.conf"
    static let settings = "/etc/audit/audisp-lkm.conf"
    /// Every file the package owns or makes.
    static let files = ["/usr/sbin/audisp-lkm", settings, "/etc/audit/audisp-lkm.rules", "/etc/audit/plugins.d/audisp-lkm.conf",
                        dropIn, "/etc/logrotate.d/audisp-lkm", "/usr/share/audisp-lkm/auditd-plugin.sh",
                        "/usr/share/man/man8/audisp-lkm.8.gz", "/usr/share/man/man5/audisp-lkm.conf.5.gz",
                        "/usr/share/doc/audisp-lkm/copyright", "/etc/audit/rules.d/50-audisp-lkm.rules", "/var/log/audisp-lkm",
                        "/run/audisp-lkm.state", "/var/lib/audisp-lkm"]

    @Test("build-deb.sh and lintian; dpkg -i: an alert in the alerts file, forwarded whole by rsyslog; an upgrade keeps an edit; -r stops and unloads; --purge leaves nothing",
          .enabled(if: available || TestData.mandatory))
    func lifecycle() throws {
        try #require(Self.available, "needs root, auditd, rsyslogd, dpkg-dev and lintian")
        try withSystemAuditLock {
            try withTemporaryDirectory { work in
                try exercise(work: work)
            }
        }
    }

    /// Runs packaging/build-deb.sh; the package's path (its last line).
    static func build(_ arguments: [String]) throws -> String {
        let script = TestData.packageRoot.appendingPathComponent("packaging/build-deb.sh").path
        let output = try runCommand("/bin/bash", [script] + arguments)
        return String(output.split(separator: "\n").last ?? "")
    }

    /// Restarts the machine's rsyslogd the way the package does (it reads its drop-ins
    /// only at start), with the package's own shell function when it is installed.
    static func restartSyslog() throws {
        let library = FileManager.default.fileExists(atPath: "/usr/share/audisp-lkm/auditd-plugin.sh")
            ? "/usr/share/audisp-lkm/auditd-plugin.sh" : TestData.packageRoot.appendingPathComponent("packaging/auditd-plugin.sh").path
        try runCommand("/bin/bash", ["-c", "say() { :; }; . '\(library)'; restart_rsyslog"])
    }

    private func exercise(work: URL) throws {
        var made: [String] = []
        for directory in ["/etc/modprobe.d"] where !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            made.append(directory)
        }
        let marker = "lkmdeb-\(UInt32.random(in: 0 ... .max))"
        let planted = "/etc/modprobe.d/\(marker).conf"
        var receiver: pid_t?
        defer {
            unlink(planted)
            _ = try? runCommand("/usr/bin/dpkg", ["--purge", "audisp-lkm"])
            if let receiver { kill(receiver, SIGTERM) }
            _ = try? Self.restartSyslog()
            for directory in made.reversed() { rmdir(directory) }
        }

        // Built once; lintian may warn (the README lists what is kept and why), never err.
        let first = try Self.build(["--version", "0.11.0-1", "--lintian", "--output", work.path])
        #expect(first.hasSuffix("audisp-lkm_0.11.0-1_amd64.deb"), "\(first)")
        let control = try runCommand("/usr/bin/dpkg-deb", ["--field", first, "Depends"])
        for dependency in ["auditd", "libauparse0", "libaudit1", "libcap-ng0", "zlib1g"] {
            #expect(control.contains(dependency), "Depends: \(control)")
        }
        #expect(try runCommand("/usr/bin/dpkg-deb", ["--info", first, "conffiles"]).split(separator: "\n").sorted()
                == ["/etc/audit/audisp-lkm.conf", "/etc/audit/audisp-lkm.rules", "/etc/audit/plugins.d/audisp-lkm.conf",
                    "/etc/logrotate.d/audisp-lkm", "/etc/rsyslog.d/30-audisp-lkm.conf"])

        try runCommand("/usr/bin/dpkg", ["-i", first])
        var status = stat()
        #expect(stat("/usr/sbin/audisp-lkm", &status) == 0 && status.st_uid == 0 && status.st_mode & 0o7777 == 0o750)
        #expect(eventually(seconds: 10) { InstalledPluginTests.pluginPID() != nil }, "auditd runs no plugin after dpkg -i")
        #expect(try runCommand("/sbin/auditctl", ["-l"]).contains("-F dir=/etc/modprobe.d -F perm=wa -F key=audisp-lkm"))
        #expect(try runCommand("/bin/gzip", ["-dc", "/usr/share/man/man5/audisp-lkm.conf.5.gz"]).contains(".B manage_watches"))

        // A creation: one alert, a JSON document, in the alerts file.
        try runCommand("/bin/sh", ["-c", "echo 'install usb-storage /bin/true' > '\(planted)'"])
        var documents: [[String: Any]] = []
        #expect(eventually(seconds: 10) {
            documents = Self.alertDocuments().filter { jsonField($0, "file.path") as? String == planted }
            return !documents.isEmpty
        }, "no alert for \(planted) in \(Self.alerts); \(InstalledPluginTests.pluginDiagnosis())")
        usleep(500_000)
        documents = Self.alertDocuments().filter { jsonField($0, "file.path") as? String == planted }
        #expect(documents.count == 1)
        let alert = try #require(documents.first)
        #expect(jsonField(alert, "event.action") as? String == "creation")
        #expect(jsonField(alert, "rule.name") as? String == "Loadable Kernel Module Configuration File Creation")
        #expect(jsonField(alert, "process.executable") as? String == "/usr/bin/dash")
        #expect(jsonField(alert, "auditd.key") as? String == "audisp-lkm")

        // Forwarding: a second rsyslog on loopback gets the alert lines whole, a 6 KiB path too.
        let port = Int.random(in: 20_000 ... 40_000)
        let received = work.appendingPathComponent("received.log").path
        let receiverConf = work.appendingPathComponent("receiver.conf").path
        try """
            global(workDirectory="\(work.path)" maxMessageSize="64k")
            module(load="imtcp")
            input(type="imtcp" address="127.0.0.1" port="\(port)")
            template(name="message" type="string" string="%msg%\\n")
            action(type="omfile" file="\(received)" template="message")
            """.write(toFile: receiverConf, atomically: false, encoding: .utf8)
        let pidFile = work.appendingPathComponent("receiver.pid").path
        try runCommand("/usr/sbin/rsyslogd", ["-f", receiverConf, "-i", pidFile])
        #expect(eventually { FileManager.default.fileExists(atPath: pidFile) })
        receiver = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        var dropIn = try String(contentsOfFile: Self.dropIn, encoding: .utf8)
        let forward = try #require(dropIn.range(of: "#BEGIN-FORWARD\n"))
        let end = try #require(dropIn.range(of: "\t#END-FORWARD"))
        let enabled = dropIn[forward.upperBound..<end.lowerBound].replacingOccurrences(of: "\t#", with: "\t")
            .replacingOccurrences(of: "collector.example.org", with: "127.0.0.1").replacingOccurrences(of: "6514", with: "\(port)")
        dropIn.replaceSubrange(forward.upperBound..<end.lowerBound, with: enabled)
        try dropIn.write(toFile: Self.dropIn, atomically: false, encoding: .utf8)
        try Self.restartSyslog()
        // The long alert comes from synthetic records (no system call takes a 6 KiB path),
        // through the plugin's syslog output as the installed one sends them.
        let components = (0 ..< 30).map { "d\($0)-" + String(repeating: "x", count: 200) }
        let longName = components.joined(separator: "/") + "/\(marker)-long.conf"
        let plugin = try PluginProcess(configuration: pluginConfiguration(in: work, """
            output = syslog
            format = json
            manage_watches = no
            """))
        try plugin.write(try creationRecords(count: 1, executable: "/usr/bin/tee", name: { _ in longName }, serial: 7, seconds: 1_800_000_000))
        try plugin.closeInput()
        #expect(plugin.waitForExit() == 0)
        let longPath = "/etc/modprobe.d/\(longName)"
        #expect(longPath.utf8.count > 6 * 1024)
        #expect(eventually(seconds: 10) {
            Self.alertDocuments().contains { jsonField($0, "file.path") as? String == longPath }
        }, "the long alert is not whole in \(Self.alerts)")
        var forwarded: [[String: Any]] = []
        #expect(eventually(seconds: 10) {
            forwarded = Self.documents(in: received)
            return forwarded.contains { jsonField($0, "file.path") as? String == longPath }
        }, "the collector did not get the long alert whole: \(String(describing: try? String(contentsOfFile: received, encoding: .utf8).prefix(300)))")
        #expect(!forwarded.contains { (jsonField($0, "file.path") as? String)?.hasPrefix("/etc/modprobe.d/") == false })

        // Upgrade to a rebuilt package: the edited setting stays.
        var settings = try String(contentsOfFile: Self.settings, encoding: .utf8)
        settings = settings.replacingOccurrences(of: "\nmax_alerts = 25\n", with: "\nmax_alerts = 30\n")
        #expect(settings.contains("\nmax_alerts = 30\n"))
        try settings.write(toFile: Self.settings, atomically: false, encoding: .utf8)
        let binary = TestData.packageRoot.appendingPathComponent(".build-release/release/audisp-lkm").path
        let second = try Self.build(["--version", "0.11.0-2", "--binary", binary, "--output", work.path])
        try runCommand("/usr/bin/dpkg", ["--force-confold", "-i", second])
        #expect(try runCommand("/usr/bin/dpkg-query", ["-W", "-f", "${Version}", "audisp-lkm"]) == "0.11.0-2")
        #expect(try String(contentsOfFile: Self.settings, encoding: .utf8).contains("\nmax_alerts = 30\n"))
        #expect(eventually(seconds: 10) { InstalledPluginTests.pluginPID() != nil }, "no plugin after the upgrade")

        // Removed: the plugin stops, the rules go; the configuration stays until purge.
        try runCommand("/usr/bin/dpkg", ["-r", "audisp-lkm"])
        #expect(eventually(seconds: 10) { InstalledPluginTests.pluginPID() == nil }, "the plugin still runs after dpkg -r")
        #expect(try !runCommand("/sbin/auditctl", ["-l"]).contains("audisp-lkm"))
        #expect(!FileManager.default.fileExists(atPath: "/usr/sbin/audisp-lkm"))
        #expect(!FileManager.default.fileExists(atPath: "/etc/audit/rules.d/50-audisp-lkm.rules"))
        #expect(FileManager.default.fileExists(atPath: Self.settings))

        // Purged: nothing left.
        try runCommand("/usr/bin/dpkg", ["--purge", "audisp-lkm"])
        for file in Self.files {
            #expect(!FileManager.default.fileExists(atPath: file), "\(file) left after purge")
        }
        #expect(try !runCommand("/sbin/auditctl", ["-l"]).contains("audisp-lkm"))
        #expect(InstalledPluginTests.pluginPID() == nil)
    }

    static func alertDocuments() -> [[String: Any]] { documents(in: alerts) }

    /// The JSON documents of a file, one per line.
    static func documents(in path: String) -> [[String: Any]] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.trimmingCharacters(in: .whitespaces).utf8)) as? [String: Any]
        }
    }
}
