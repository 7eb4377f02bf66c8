import Foundation
import Glibc
import Testing
import TestSupport

/// Programs that take the rule's exclusions without being the programs they mean, and the
/// genuine ones: recorded from the kernel (`Tests/Fixtures/record-borrowed.sh`, with exec
/// tracking) and replayed, and run for real through the installed plugin.
@Suite("Borrowed exclusions: a name or path taken is no exclusion", .serialized)
struct BorrowedExclusionTests {
    static let companion = "Kernel Module Configuration File Creation by a Program Borrowing an Exclusion"
    static let rule = "Loadable Kernel Module Configuration File Creation"
    static let fixture = TestData.kernelFixture("borrowed.log").path
    static let modprobe = "/etc/modprobe.d"

    /// The alerts of `replay --format text` on `log`, by path.
    static func alerts(_ log: String, _ arguments: [String] = []) throws -> [String: [[String: String]]] {
        let run = try audispLKM(["replay", "--format", "text"] + arguments + [log])
        #expect(run.status == 0, "\(run.err)")
        var byPath: [String: [[String: String]]] = [:]
        for line in run.out.split(separator: "\n") where line.hasPrefix("alert=") {
            let fields = KeyValueText.parse(line)
            byPath[fields["path"] ?? "", default: []].append(fields)
        }
        return byPath
    }

    @Test("recorded: a copy named perl, /tmp/vmis.*, and fexecve alert with the clause they borrowed; perl, sed and dpkg as installed stay excluded")
    func recorded() throws {
        let alerts = try Self.alerts(Self.fixture)
        func names(_ file: String) -> [String] { (alerts["\(Self.modprobe)/\(file)"] ?? []).compactMap { $0["alert"] } }
        for (file, clause, because) in [
            ("lkmfix-borrowed-name.conf", "process.name == \"perl\"", "/tmp/lkmfix-b/perl is under /tmp/, which anyone can write"),
            ("lkmfix-borrowed-vmis.conf", "process.executable like \"/tmp/vmis.*\"", "under /tmp/, which anyone can write"),
            ("lkmfix-borrowed-fexec.conf", "process.executable like \"/dev/fd/*\"", "names a descriptor: no file vouches for the program (the kernel ran /usr/bin/dash)"),
        ] {
            #expect(names(file) == [Self.companion], "\(file): \(names(file))")
            let alert = alerts["\(Self.modprobe)/\(file)"]?.first
            #expect(alert?["borrowed"] == clause, "\(String(describing: alert))")
            #expect(alert?["because"]?.contains(because) == true, "\(String(describing: alert))")
        }
        // Its image, as the kernel ran it, is in the alert beside the descriptor's name.
        #expect(alerts["\(Self.modprobe)/lkmfix-borrowed-fexec.conf"]?.first?["executable"] == "/dev/fd/3")
        #expect(alerts["\(Self.modprobe)/lkmfix-borrowed-fexec.conf"]?.first?["exe"] == "/usr/bin/dash")
        // With exec tracking, bash <(...) is bash, whose exec record names it: the rule's own alert.
        #expect(names("lkmfix-borrowed-fd.conf") == [Self.rule])
        // The genuine programs: excluded, and nothing else.
        for file in ["lkmfix-genuine-perl.conf", "lkmfix-pkg.conf", "lkmfix-pkg.conf.dpkg-new"] {
            #expect(names(file).isEmpty, "\(file): \(names(file))")
        }
        #expect(!alerts.keys.contains { $0.hasPrefix("\(Self.modprobe)/sed") }, "sed's temporary file: \(alerts.keys)")

        // --explain says, per clause, whether it was earned.
        let explained = try audispLKM(["replay", "--format", "text", "--explain", Self.fixture]).out.split(separator: "\n")
            .filter { $0.hasPrefix("explain=") }.map { KeyValueText.parse($0) }
        func explanation(_ file: String) -> String? { explained.first { $0["path"] == "\(Self.modprobe)/\(file)" }?["earned"] }
        #expect(explanation("lkmfix-genuine-perl.conf") == "process.name == \"perl\": earned")
        #expect(explanation("lkmfix-borrowed-name.conf")?.hasPrefix("process.name == \"perl\": borrowed (") == true)
        #expect(explanation("lkmfix-pkg.conf")?.contains("file.Ext.original.extension == \"dpkg-new\": earned") == true)
    }

    @Test("report: beside the rule's exclusion, whether the program borrowed it")
    func report() throws {
        let run = try audispLKM(["report", "--format", "json", Self.fixture])
        let rows = run.out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        func row(_ file: String) -> [String: Any]? { rows.first { jsonField($0, "file.path") as? String == "\(Self.modprobe)/\(file)" } }
        let borrowed = try #require(row("lkmfix-borrowed-vmis.conf"), "\(run.err)")
        #expect(jsonField(borrowed, "audisp_lkm.decision") as? String == "excluded")
        #expect((jsonField(borrowed, "audisp_lkm.borrowed") as? String)?.contains("/tmp/vmis.* is under /tmp/") == true)
        #expect(jsonField(borrowed, "audisp_lkm.companion_rule") as? String == Self.companion)
        let genuine = try #require(row("lkmfix-genuine-perl.conf"))
        #expect(jsonField(genuine, "audisp_lkm.decision") as? String == "excluded")
        #expect(jsonField(genuine, "audisp_lkm.borrowed") == nil)
    }

    @Test("recorded without exec tracking: bash <(...) is the script /dev/fd/63, which borrows /dev/fd/*")
    func withoutExecTracking() throws {
        // The same log without the exec events: what a host without exec rules records.
        let text = try String(contentsOfFile: Self.fixture, encoding: .utf8)
        var execEvents = Set<Substring>()
        for line in text.split(separator: "\n") where line.hasPrefix("type=EXECVE") || line.contains(" syscall=59 ") || line.contains(" syscall=322 ") {
            if let id = line.split(separator: "(").dropFirst().first?.split(separator: ")").first { execEvents.insert(id) }
        }
        #expect(!execEvents.isEmpty)
        try withTemporaryDirectory { directory in
            let log = directory.appendingPathComponent("no-exec.log")
            let kept = text.split(separator: "\n").filter { line in
                !(line.split(separator: "(").dropFirst().first?.split(separator: ")").first.map(execEvents.contains) ?? false)
            }
            try (kept.joined(separator: "\n") + "\n").write(to: log, atomically: true, encoding: .utf8)
            let alerts = try Self.alerts(log.path)
            let fd = alerts["\(Self.modprobe)/lkmfix-borrowed-fd.conf"]
            #expect(fd?.map { $0["alert"] } == [Self.companion], "\(String(describing: fd))")
            #expect(fd?.first?["executable"] == "/dev/fd/63" && fd?.first?["borrowed"] == "process.executable like \"/dev/fd/*\"")
            #expect(alerts["\(Self.modprobe)/lkmfix-genuine-perl.conf"] == nil)
        }
    }

    @Test("installed: each borrowing alerts live, with the clause; the real perl and dpkg stay quiet",
          .enabled(if: InstalledPluginTests.available || TestData.mandatory))
    func installed() throws {
        try InstalledPluginTests.withInstallableHost(exercise)
    }

    private func exercise(work: URL) throws {
        let install = TestData.packageRoot.appendingPathComponent("install.sh").path
        let marker = "lkmborrow-\(UInt32.random(in: 0 ... .max))"
        let place = Self.modprobe
        let made = !FileManager.default.fileExists(atPath: place)
        if made { try FileManager.default.createDirectory(atPath: place, withIntermediateDirectories: false) }
        let tmp = "/tmp/\(marker)"
        defer {
            _ = try? runCommand("/usr/bin/dpkg", ["--purge", "lkmborrow-test"])
            _ = try? runCommand("/bin/sh", ["-c", "rm -rf '\(tmp)' /tmp/vmis.\(marker) \(place)/\(marker)-*"])
            _ = try? runCommand(install, ["--uninstall"])
            if made { rmdir(place) }
        }
        try runCommand(install, [])
        #expect(eventually(seconds: 10) { InstalledPluginTests.pluginPID() != nil }, "auditd did not start the plugin")
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: false)
        try runCommand("/bin/cp", ["/usr/bin/bash", "\(tmp)/perl"])
        try runCommand("/bin/cp", ["/usr/bin/bash", "/tmp/vmis.\(marker)"])
        func file(_ name: String) -> String { "\(place)/\(marker)-\(name).conf" }
        let payload = "install usb-storage /tmp/p"
        try runCommand("\(tmp)/perl", ["-c", "echo '\(payload)' > '\(file("name"))'"])
        try runCommand("/usr/bin/bash", ["-c", "bash <(echo \"echo '\(payload)' > '\(file("fd"))'\")"])
        try runCommand("/tmp/vmis.\(marker)", ["-c", "echo '\(payload)' > '\(file("vmis"))'"])
        try runCommand("/usr/bin/perl", ["-e", "open(F, '>', '\(file("perl"))') or die; print F \"options dummy\\n\""])
        // A package shipping a module configuration file, installed and purged by dpkg.
        let package = work.appendingPathComponent("pkg")
        try FileManager.default.createDirectory(atPath: package.path + "/DEBIAN", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: package.path + "/etc/modprobe.d", withIntermediateDirectories: true)
        try "Package: lkmborrow-test\nVersion: 1\nArchitecture: all\nMaintainer: tests <root@localhost>\nDescription: x\n"
            .write(toFile: package.path + "/DEBIAN/control", atomically: false, encoding: .utf8)
        try "options dummy\n".write(toFile: package.path + "/etc/modprobe.d/\(marker)-pkg.conf", atomically: false, encoding: .utf8)
        try runCommand("/usr/bin/dpkg-deb", ["--root-owner-group", "--build", package.path, work.appendingPathComponent("p.deb").path])
        try runCommand("/usr/bin/dpkg", ["-i", work.appendingPathComponent("p.deb").path])
        try runCommand("/usr/bin/dpkg", ["--purge", "lkmborrow-test"])
        // Last: a plain creation, whose alert shows that every earlier one is in too.
        let last = file("last")
        try runCommand("/bin/sh", ["-c", "echo dummy > '\(last)'"])

        var alerts: [[String: String]] = []
        #expect(eventually(seconds: 20) {
            alerts = InstalledPluginTests.alertLines(containing: marker)
            return alerts.contains { $0["path"] == last }
        }, "\(InstalledPluginTests.pluginDiagnosis())")
        func raised(_ path: String) -> [String] { alerts.filter { $0["path"] == path }.compactMap { $0["alert"] } }
        #expect(raised(file("name")) == [Self.companion], "\(alerts)")
        #expect(alerts.first { $0["path"] == file("name") }?["because"]?.contains("no installed package owns \(tmp)/perl") == true,
                "\(alerts)")
        #expect(raised(file("vmis")) == [Self.companion])
        // Without exec tracking, the script read from the pipe is /dev/fd/63.
        #expect(raised(file("fd")) == [Self.companion])
        #expect(alerts.first { $0["path"] == file("fd") }?["borrowed"] == "process.executable like \"/dev/fd/*\"")
        // /usr/bin/perl is perl-base's: the exclusion is earned, nothing raised.
        #expect(raised(file("perl")).isEmpty, "\(alerts)")
        // The report made on this host asks its package database too (--host-state).
        let report = try audispLKM(["report", "--host-state", "--format", "json", "--since", "recent", "/var/log/audit/audit.log"])
        let rows = report.out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        func row(_ path: String) -> [String: Any]? { rows.first { jsonField($0, "file.path") as? String == path } }
        #expect((jsonField(row(file("name")) ?? [:], "audisp_lkm.borrowed") as? String)?.contains("no installed package owns") == true,
                "\(report.err)")
        #expect(jsonField(row(file("perl")) ?? [:], "audisp_lkm.decision") as? String == "excluded")
        #expect(jsonField(row(file("perl")) ?? [:], "audisp_lkm.borrowed") == nil)
        #expect(!alerts.contains { ($0["path"] ?? "").hasPrefix("\(place)/\(marker)-pkg.conf") }, "\(alerts)")
    }
}
