import Foundation
import Glibc
import Testing
import TestSupport

/// Every route an intruder who has read the README takes to close the detector's eyes,
/// write a module configuration file and open them again, run for real under auditd
/// through the installed plugin: each file is named by an alert within seconds of the
/// detector seeing again. Needs root, auditd and rsyslogd; mandatory under `.ci/run`.
@Suite("Blind windows: what is done while the detector cannot see is named", .serialized)
struct BlindWindowTests {
    static let stateDirectory = "/var/lib/audisp-lkm"
    static let unwatched = "Kernel Module Configuration Changed While Unwatched"

    @Test("flushed rules, auditing off, mounts over a place, auditd down, a killed plugin, a rewrite, an append: each named",
          .enabled(if: InstalledPluginTests.available || TestData.mandatory))
    func routes() throws {
        try InstalledPluginTests.withInstallableHost(exercise)
    }

    private func exercise(work: URL) throws {
        let install = TestData.packageRoot.appendingPathComponent("install.sh").path
        let marker = "lkmblind-\(UInt32.random(in: 0 ... .max))"
        var planted: [String] = []
        var madeDirectories: [String] = []
        var mounted: [String] = []
        func path(_ directory: String, _ suffix: String) -> String {
            let path = "\(directory)/\(marker)-\(suffix)"
            planted.append(path)
            return path
        }
        for directory in ["/etc/modprobe.d", "/etc/modules-load.d", "/run/modules-load.d"]
        where !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            madeDirectories.append(directory)
        }
        defer {
            for point in mounted.reversed() { _ = try? runCommand("/bin/umount", [point]) }
            for file in planted { unlink(file) }
            _ = try? runCommand("/sbin/auditctl", ["-e", "1"])
            if !auditdIsRunning { _ = try? runCommand("/sbin/auditd", []) }
            _ = try? runCommand(install, ["--uninstall"])
            for directory in madeDirectories.reversed() { rmdir(directory) }
        }
        // A file there before the install: a fresh install records it, silently.
        let existing = path("/etc/modprobe.d", "existing.conf")
        try "options dummy numdummies=1\n".write(toFile: existing, atomically: false, encoding: .utf8)
        _ = try? runCommand("/bin/rm", ["-rf", Self.stateDirectory])
        try runCommand(install, [])
        #expect(eventually(seconds: 10) { InstalledPluginTests.pluginPID() != nil }, "auditd did not start the plugin")
        #expect(eventually(seconds: 10) { FileManager.default.fileExists(atPath: Self.stateDirectory + "/baseline") },
                "no baseline; \(InstalledPluginTests.pluginDiagnosis())")
        var status = stat()
        #expect(stat(Self.stateDirectory, &status) == 0 && status.st_uid == 0 && status.st_mode & 0o777 == 0o700)
        #expect(!InstalledPluginTests.authLogLines(containing: "baseline of the places recorded").isEmpty)
        // A fresh install over existing files raises nothing: past a scan's grace, no alert.
        _ = eventually(seconds: 5) { false }
        #expect(InstalledPluginTests.alertLines(containing: marker).isEmpty)

        /// The alert naming `file` (of `rule` when given), waited for up to `seconds`.
        func alert(for file: String, rule: String? = nil, seconds: Double = 20) -> [String: String]? {
            var found: [String: String]?
            _ = eventually(seconds: seconds) {
                found = InstalledPluginTests.alertLines(containing: file)
                    .first { $0["path"] == file && (rule == nil || $0["alert"] == rule) }
                return found != nil
            }
            return found
        }
        func shell(_ script: String) throws { try runCommand("/bin/sh", ["-c", script]) }

        // 1. Rules flushed, a file written, the rules loaded again.
        let flushed = path("/etc/modprobe.d", "flushed.conf")
        try shell("auditctl -D >/dev/null; echo 'install usb-storage /tmp/p' > '\(flushed)'; augenrules --load >/dev/null 2>&1")
        let first = alert(for: flushed, rule: Self.unwatched)
        #expect(first?["action"] == "creation", "\(String(describing: first)); \(InstalledPluginTests.pluginDiagnosis())")
        #expect(first?["blinded_by"] == "watches-removed")
        #expect(first?["by_executable"] == "/usr/sbin/auditctl" && first?["by_command_line"] == "auditctl -D",
                "\(String(describing: first))")
        #expect(first?["process"] == "unknown" && first?["sha256_after"]?.count == 64)
        var tamper: [[String: String]] = []
        #expect(eventually(seconds: 40) {
            tamper = InstalledPluginTests.alertLines(containing: "auditctl -D").filter { ($0["reconciled"] ?? "").contains(flushed) }
            return !tamper.isEmpty
        }, "the tamper alert does not say what changed meanwhile; \(InstalledPluginTests.pluginDiagnosis())")

        // One routine reload (every rule removed and added back), one tamper alert, which
        // says the watches came back and that nothing changed meanwhile.
        let removals = { InstalledPluginTests.authLogLines(containing: "Audit Watch on Kernel Module Configuration Removed") }
        let reloadsBefore = removals().count
        try shell("augenrules --load >/dev/null 2>&1")
        #expect(eventually(seconds: 40) { removals().count > reloadsBefore })
        _ = eventually(seconds: 5) { false }
        let reload = removals().dropFirst(reloadsBefore).compactMap(InstalledPluginTests.alert(in:))
        #expect(reload.count == 1, "\(reload)")
        #expect(reload.first?["reconciled"] == "nothing changed while unwatched", "\(reload)")
        #expect(Int(reload.first?["restored"] ?? "") ?? 0 > 0, "\(reload)")

        // 2. Rules flushed, a file written, nothing more: the plugin puts its watches back.
        let alone = path("/etc/modprobe.d", "flushed-alone.conf")
        try shell("auditctl -D >/dev/null; echo 'install cramfs /tmp/p' > '\(alone)'")
        #expect(alert(for: alone, rule: Self.unwatched)?["blinded_by"] == "watches-removed", "\(InstalledPluginTests.pluginDiagnosis())")
        try shell("augenrules --load >/dev/null 2>&1")

        // 3. Auditing switched off and on: the kernel logs the first, not the second.
        let disabled = path("/etc/modules-load.d", "disabled.conf")
        try shell("auditctl -e 0 >/dev/null; echo dummy > '\(disabled)'; auditctl -e 1 >/dev/null")
        #expect(alert(for: disabled, rule: Self.unwatched)?["blinded_by"] == "auditing-disabled", "\(InstalledPluginTests.pluginDiagnosis())")

        // 4. A tmpfs over a place, then a file in it once the plugin has seen the mount.
        let remounts = { InstalledPluginTests.authLogLines(containing: "the mounts over the places changed").count }
        var before = remounts()
        try runCommand("/bin/mount", ["-t", "tmpfs", "none", "/run/modules-load.d"])
        mounted.append("/run/modules-load.d")
        #expect(eventually(seconds: 10) { remounts() > before }, "\(InstalledPluginTests.pluginDiagnosis())")
        let inTmpfs = "/run/modules-load.d/\(marker)-tmpfs.conf"
        try shell("echo dummy > '\(inTmpfs)'")
        #expect(alert(for: inTmpfs) != nil, "\(InstalledPluginTests.pluginDiagnosis())")
        try runCommand("/bin/umount", ["/run/modules-load.d"])
        mounted.removeLast()

        // 5. The new mount API: open_tree + move_mount of a directory over a place.
        let treemount = work.appendingPathComponent("treemount").path
        try runCommand("/usr/bin/gcc", ["-O2", "-o", treemount,
                                        TestData.packageRoot.appendingPathComponent("Tests/Fixtures/programs/treemount.c").path])
        let tree = work.appendingPathComponent("tree").path
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: false)
        before = remounts()
        try runCommand(treemount, [tree, "/etc/modules-load.d"])
        mounted.append("/etc/modules-load.d")
        #expect(eventually(seconds: 10) { remounts() > before }, "\(InstalledPluginTests.pluginDiagnosis())")
        let inTree = "/etc/modules-load.d/\(marker)-tree.conf"
        try shell("echo dummy > '\(inTree)'")
        #expect(alert(for: inTree) != nil, "\(InstalledPluginTests.pluginDiagnosis())")
        try runCommand("/bin/umount", ["/etc/modules-load.d"])
        mounted.removeLast()

        // 6. auditd stopped, a file written, auditd started (it starts the plugin).
        let down = path("/etc/modprobe.d", "auditd-down.conf")
        try runCommand("/sbin/auditctl", ["--signal", "TERM"])
        #expect(eventually(seconds: 10) { !auditdIsRunning })
        try shell("echo 'install usb-storage /tmp/p' > '\(down)'")
        try runCommand("/sbin/auditd", [])
        #expect(eventually(seconds: 10) { auditdIsRunning && InstalledPluginTests.pluginPID() != nil })
        #expect(alert(for: down, rule: Self.unwatched)?["blinded_by"] == "detector-not-running", "\(InstalledPluginTests.pluginDiagnosis())")

        // 7. An existing file rewritten while unwatched.
        try shell("auditctl -D >/dev/null; echo 'install cramfs /tmp/p' > '\(existing)'; augenrules --load >/dev/null 2>&1")
        let rewritten = alert(for: existing, rule: Self.unwatched)
        #expect(rewritten?["action"] == "modification", "\(String(describing: rewritten))")
        #expect(rewritten?["sha256_before"] != nil && rewritten?["sha256_before"] != rewritten?["sha256_after"])

        // 8. An append while watched: the modification alert, with the content before and after.
        try shell("echo 'install usb-storage /tmp/p' >> '\(existing)'")
        let appended = alert(for: existing, rule: "Kernel Module Configuration File Modified")
        #expect(appended?["action"] == "modification" && appended?["executable"] == "/usr/bin/dash", "\(String(describing: appended))")
        #expect(appended?["sha256_before"] == rewritten?["sha256_after"], "\(String(describing: appended))")
        #expect(appended?["sha256_after"]?.count == 64 && appended?["sha256_after"] != appended?["sha256_before"])

        // 9. The plugin killed (auditd starts it again): the baseline survived.
        let killed = path("/etc/modprobe.d", "plugin-killed.conf")
        let pid = try #require(InstalledPluginTests.pluginPID())
        kill(pid, SIGKILL)
        try shell("echo dummy > '\(killed)'")
        // auditd starts a plugin again when it has a record for it.
        for _ in 0 ..< 10 where InstalledPluginTests.pluginPID() == nil {
            try shell("cat /etc/modprobe.d/* >/dev/null 2>&1; touch '\(work.path)/nudge'")
            _ = eventually(seconds: 1) { InstalledPluginTests.pluginPID() != nil }
        }
        #expect(alert(for: killed) != nil, "\(InstalledPluginTests.pluginDiagnosis())")

        // The report's host state compares the places with the baseline on disk: a file
        // made while the plugin is stopped (SIGSTOP) is a difference no record explains yet.
        let paused = path("/etc/modprobe.d", "while-paused.conf")
        let running = try #require(InstalledPluginTests.pluginPID())
        kill(running, SIGSTOP)
        defer { kill(running, SIGCONT) }
        try shell("echo dummy > '\(paused)'")
        let evidence = try audispLKM(["report", "--host-state", "--format", "json", "--since", "recent", "/var/log/audit/audit.log"],
                                     executable: "/usr/sbin/audisp-lkm")
        kill(running, SIGCONT)
        let differences = evidence.out.split(separator: "\n").filter { $0.contains(Self.unwatched) && $0.contains(paused) }
        #expect(differences.count == 1, "\(evidence.err)")
        #expect(evidence.out.contains("differences from the plugin's baseline no record explains yet"))

        try runCommand(install, ["--uninstall"])
        #expect(!FileManager.default.fileExists(atPath: Self.stateDirectory), "the baseline outlived the uninstall")
    }
}
