import Foundation
import Glibc
import Testing
import TestSupport

/// The documented installation under the real auditd, with real file operations, and the
/// alerts read back from rsyslog's files. Needs root, a running auditd and a running
/// rsyslogd; skipped elsewhere, mandatory under `.ci/run`.
@Suite("Installed under auditd, end to end", .serialized)
struct InstalledPluginTests {
    /// A running rsyslogd, not merely /dev/log: a daemon that died leaves its socket behind,
    /// and a send to it fails with ECONNREFUSED.
    static var available: Bool { auditdIsRunning && (try? runCommand("/usr/bin/pgrep", ["-x", "rsyslogd"])) != nil }

    /// rsyslog's file for authpriv (Debian's default rsyslog.conf).
    static let authLog = "/var/log/auth.log"
    static let installed = ["/usr/sbin/audisp-lkm", "/etc/audit/audisp-lkm.conf", "/etc/audit/plugins.d/audisp-lkm.conf",
                            "/etc/audit/rules.d/50-audisp-lkm.rules"]

    @Test("install.sh; real creations and renames alert in syslog with the right fields; exclusions stay quiet; --uninstall leaves nothing",
          .enabled(if: available || TestData.mandatory))
    func installedPlugin() throws {
        try Self.withInstallableHost(exercise)
    }

    /// Runs `body` with a scratch directory, once this host can take the installed plugin
    /// (root, auditd, rsyslogd) and no other test changes its audit state.
    static func withInstallableHost(_ body: (URL) throws -> Void) throws {
        try #require(available, "needs root, a running auditd and a running rsyslogd")
        try withSystemAuditLock {
            try withTemporaryDirectory(body)
        }
    }

    private func exercise(work: URL) throws {
        let install = TestData.packageRoot.appendingPathComponent("install.sh").path
        let made = try prepareDirectories()
        let marker = "lkme2e-\(UInt32.random(in: 0 ... .max))"
        // The syslog path itself first, so that a failure below is the plugin's.
        try runCommand("/usr/bin/logger", ["-p", "authpriv.notice", "-t", "audisp-lkm-probe", marker])
        try #require(eventually(seconds: 10) { Self.authLogLines(containing: marker).contains { $0.contains("audisp-lkm-probe") } },
                     "rsyslogd runs but an authpriv message did not reach \(Self.authLog)")
        var planted: [String] = []
        defer {
            for path in planted { unlink(path) }
            _ = try? runCommand(install, ["--uninstall"])
            for directory in made.reversed() { rmdir(directory) }
        }
        let output = try runCommand(install, [])
        #expect(output.contains("PASS  watch /etc/modprobe.d/: watched: b64, b32, io_uring, its files (dir=)"), "\(output)")
        var status = stat()
        #expect(stat("/usr/sbin/audisp-lkm", &status) == 0 && status.st_uid == 0 && status.st_mode & 0o7777 == 0o750)
        #expect(try runCommand("/sbin/auditctl", ["-l"]).contains("key=audisp-lkm"))
        #expect(eventually(seconds: 10) { Self.pluginPID() != nil }, "auditd did not start the plugin")

        // The programs: a C program making one system call per run, built x86_64 and i386.
        let source = TestData.packageRoot.appendingPathComponent("Tests/Fixtures/programs/lkmops.c").path
        let ops = work.appendingPathComponent("lkmops").path, ops32 = work.appendingPathComponent("lkmops32").path
        try runCommand("/usr/bin/gcc", ["-O2", "-o", ops, source])
        try runCommand("/usr/bin/gcc", ["-m32", "-O2", "-o", ops32, source])
        let uring = work.appendingPathComponent("uringops").path
        try runCommand("/usr/bin/gcc", ["-O2", "-o", uring,
                                        TestData.packageRoot.appendingPathComponent("Tests/Fixtures/programs/uringops.c").path])
        let source1 = work.appendingPathComponent("a.conf").path, source2 = work.appendingPathComponent("b.conf").path
        try "options dummy numdummies=1\n".write(toFile: source1, atomically: false, encoding: .utf8)
        try "dummy\n".write(toFile: source2, atomically: false, encoding: .utf8)

        func path(_ directory: String, _ suffix: String) -> String {
            let path = "\(directory)/\(marker)-\(suffix)"
            planted.append(path)
            return path
        }
        let redirect = path("/etc/modprobe.d", "redirect.conf")
        let copied = path("/etc/modules-load.d", "cp.conf")
        let moved = path("/etc/modprobe.d", "mv.conf")
        let dirfd = path("/etc/modprobe.d", "dirfd.conf")
        let i386 = path("/etc/modules-load.d", "i386.conf")
        let daemon = path("/etc/modprobe.d", "daemon.conf")
        let ring = path("/etc/modprobe.d", "uring.conf")
        let swap = path("/etc/modprobe.d", "x.swp")
        let elsewhere = path(work.path, "elsewhere.conf")
        let last = path("/etc/modprobe.d", "last.conf")

        try runCommand("/bin/sh", ["-c", "echo 'install dummy /bin/true' > '\(redirect)'"])
        try runCommand("/bin/cp", [source1, copied])
        try runCommand("/bin/mv", [source2, moved])
        try runCommand(ops, ["dirfd-create", "/etc/modprobe.d", (dirfd as NSString).lastPathComponent])
        try runCommand(ops32, ["openat-create", i386])
        // The place under another name: a bind mount of it (as a container mounting the
        // host's /etc would see it).
        let mountPoint = work.appendingPathComponent("m").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        try runCommand("/bin/mount", ["--bind", "/etc/modprobe.d", mountPoint])
        let bound = path("/etc/modprobe.d", "bind.conf")
        do {
            defer { _ = try? runCommand("/bin/umount", [mountPoint]) }
            try runCommand(ops, ["openat-create", mountPoint + "/" + (bound as NSString).lastPathComponent])
        }
        // As a daemon would: a descriptor on the directory, working directory /.
        try runCommand(ops, ["dirfd-create-chdir", "/etc/modprobe.d", (daemon as NSString).lastPathComponent, "/"])
        // io_uring: no system call makes the name, and the kernel logs none.
        try runCommand(uring, ["openat", "/etc/modprobe.d", (ring as NSString).lastPathComponent])
        // io_uring linkat: the file has two names (the source and the link), and the one
        // entry with its inode in /etc/modprobe.d is the link made. A second link there
        // leaves two entries, so that one alerts with both as candidates. Each waits for
        // the alert before it, so that the plugin reads the directory as it was.
        let linkSource = work.appendingPathComponent("\(marker)-link-source.conf").path
        try "dummy\n".write(toFile: linkSource, atomically: false, encoding: .utf8)
        let ringLink = path("/etc/modprobe.d", "uring-link.conf")
        let ringLink2 = path("/etc/modprobe.d", "uring-link2.conf")
        try runCommand(uring, ["linkat", work.path, (linkSource as NSString).lastPathComponent,
                               "/etc/modprobe.d", (ringLink as NSString).lastPathComponent])
        #expect(eventually(seconds: 15) { Self.alertLines(containing: marker).contains { $0["path"] == ringLink } },
                "no alert for the io_uring link; \(Self.pluginDiagnosis())")
        try runCommand(uring, ["linkat", work.path, (linkSource as NSString).lastPathComponent,
                               "/etc/modprobe.d", (ringLink2 as NSString).lastPathComponent])
        // Quiet: an editor swap file (excluded by extension), a path the rule does not
        // cover, and a deletion.
        try runCommand("/bin/sh", ["-c", "echo x > '\(swap)'"])
        try runCommand("/bin/sh", ["-c", "echo x > '\(elsewhere)'"])
        try runCommand("/bin/rm", [redirect])
        // Last, so that once its alert is in the log, any alert for the quiet ones would be too.
        try runCommand("/bin/cp", [source1, last])

        var alerts: [[String: String]] = []
        let arrived = eventually(seconds: 15) {
            alerts = Self.alertLines(containing: marker)
            return alerts.contains { $0["path"] == last }
        }
        #expect(arrived, "no alert for \(last) in \(Self.authLog); alerts seen: \(alerts); \(Self.pluginDiagnosis())")
        func alert(_ path: String) -> [String: String]? { alerts.first { $0["path"] == path } }

        #expect(alert(redirect)?["action"] == "creation")
        #expect(alert(redirect)?["executable"] == "/usr/bin/dash")
        #expect(alert(copied)?["executable"] == "/usr/bin/cp")
        #expect(alert(moved)?["action"] == "rename")
        #expect(alert(moved)?["original_path"] == source2)
        #expect(alert(moved)?["executable"] == "/usr/bin/mv")
        #expect(alert(dirfd)?["syscall"] == "openat")
        #expect(alert(dirfd)?["executable"] == ops)
        #expect(alert(i386)?["arch"] == "i386")
        #expect(alert(i386)?["executable"] == ops32)
        #expect(alert(bound)?["spelled_path"] == mountPoint + "/" + (bound as NSString).lastPathComponent)
        #expect(alert(daemon)?["executable"] == ops)
        #expect(alert(daemon)?["syscall"] == "openat")
        // The name found live by the new file's inode; the program from its io_uring_setup.
        #expect(alert(ring)?["executable"] == uring)
        #expect(alert(ring)?["executable_source"] == "io_uring_setup")
        #expect(alert(ring)?["uring_op"] == "18")
        #expect(alert(ringLink)?["uring_op"] == "39")
        #expect(alert(ringLink)?["executable"] == uring)
        let candidates = Self.authLogLines(containing: "candidate_path=\(ringLink2)")
        #expect(candidates.count == 1 && candidates.first?.contains("candidate_path=\(ringLink)") == true,
                "the second io_uring link's alert: \(candidates)")
        for fields in alerts {
            #expect(fields["alert"] == "Loadable Kernel Module Configuration File Creation")
            #expect(fields["rule_id"] == "6e2355cc-c60a-4d92-a80c-e54a45ad2400")
            #expect(fields["key"] == "audisp-lkm")
        }
        #expect(alert(swap) == nil)
        #expect(alert(elsewhere) == nil)
        #expect(alerts.count == 11, "\(alerts.map { $0["path"] ?? "?" })")

        // A flood must not hide the payload: 200 throw-away creations by one program (this
        // test's own process), then the payload by another, which alerts; the flood's
        // summary follows within seconds. How soon is a figure of the live benchmark
        // (Benchmarks/plugin-benchmark.py, alert latency), not a test's.
        let flood = "lkmflood-\(UInt32.random(in: 0 ... .max))"
        for index in 0 ..< 200 {
            let noise = path("/etc/modprobe.d", "\(flood)-\(index).conf")
            close(open(noise, O_CREAT | O_WRONLY, 0o644))
        }
        let payload = path("/etc/modprobe.d", "\(flood)-real-payload.conf")
        try runCommand("/bin/bash", ["-c", "echo 'install usb-storage /tmp/payload' > '\(payload)'"])
        var payloadAlert: [String: String]?
        #expect(eventually(seconds: 15) {
            payloadAlert = Self.alertLines(containing: flood).first { $0["path"] == payload }
            return payloadAlert != nil
        }, "no alert for the payload; \(Self.pluginDiagnosis())")
        #expect(payloadAlert?["executable"] == "/usr/bin/bash")
        var summaries: [[String: String]] = []
        #expect(eventually(seconds: 15) {
            summaries = Self.alertLines(containing: flood).filter { $0["action"] == "alerts-withheld" }
            return !summaries.isEmpty
        }, "no summary of the flood; \(Self.pluginDiagnosis())")
        let raised = Self.alertLines(containing: flood).filter { $0["action"] == "creation" && $0["path"] != payload }
        #expect(raised.count == 25, "the flood's allowance")
        #expect(summaries.first?["directory"] == "/etc/modprobe.d")
        #expect(summaries.first?["executable"] == raised.first?["executable"])
        #expect(summaries.compactMap { Int($0["withheld"] ?? "") }.reduce(0, +) == 175)

        // A module directory replaced wholesale: a directory with a payload renamed over
        // /run/modules-load.d. The replacement alerts, and so does the file it brought.
        let place = "/run/modules-load.d", aside = "/run/\(flood)-aside", staged = "/run/\(flood)-staged"
        let existed = FileManager.default.fileExists(atPath: place)
        defer {
            _ = try? runCommand("/bin/rm", ["-rf", place, staged])
            if existed { _ = try? runCommand("/bin/mv", [aside, place]) } else { _ = try? runCommand("/bin/rm", ["-rf", aside]) }
        }
        if !existed { try FileManager.default.createDirectory(atPath: place, withIntermediateDirectories: false) }
        try FileManager.default.createDirectory(atPath: staged, withIntermediateDirectories: false)
        try "dummy\n".write(toFile: "\(staged)/\(flood)-brought.conf", atomically: false, encoding: .utf8)
        try runCommand("/bin/mv", [place, aside])
        try runCommand("/bin/mv", [staged, place])
        var replacement: [String: String]?
        var brought: [String: String]?
        #expect(eventually(seconds: 5) {
            replacement = Self.authLogLines(containing: staged).compactMap(Self.alert(in:))
                .first { $0["action"] == "directory-replacement" }
            brought = Self.alertLines(containing: flood).first { $0["path"] == "\(place)/\(flood)-brought.conf" }
            return replacement != nil && brought != nil
        }, "replacement \(String(describing: replacement)), brought \(String(describing: brought)); \(Self.pluginDiagnosis())")
        #expect(replacement?["alert"] == "Kernel Module Configuration Directory Replaced")
        #expect(replacement?["path"] == place && replacement?["executable"] == "/usr/bin/mv")
        #expect(brought?["action"] == "rename" && brought?["original_path"] == "\(staged)/\(flood)-brought.conf")
        // Then a symbolic link in its name: the target is watched from then on, and a file
        // made there alerts with the place's path.
        let target = work.appendingPathComponent("link-target").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        try runCommand("/bin/rm", ["-rf", place])
        try runCommand("/bin/ln", ["-s", target, place])
        #expect(eventually(seconds: 5) {
            !Self.authLogLines(containing: "\(place) is now a symbolic link to \(target): watching the target too").isEmpty
        }, "\(Self.pluginDiagnosis())")
        try runCommand("/bin/sh", ["-c", "echo dummy > '\(target)/\(flood)-behind.conf'"])
        var behind: [String: String]?
        #expect(eventually(seconds: 5) {
            behind = Self.alertLines(containing: flood).first { $0["path"] == "\(place)/\(flood)-behind.conf" }
            return behind != nil
        }, "no alert for the file made behind the link; \(Self.pluginDiagnosis())")
        #expect(behind?["spelled_path"] == "\(target)/\(flood)-behind.conf")
        // And a mount over a place: the replacement names the mount's source, and the file
        // the mount brought alerts.
        let mountSource = work.appendingPathComponent("mount-source").path
        try FileManager.default.createDirectory(atPath: mountSource, withIntermediateDirectories: false)
        try "dummy\n".write(toFile: "\(mountSource)/\(flood)-mounted.conf", atomically: false, encoding: .utf8)
        try runCommand("/bin/mount", ["--bind", mountSource, "/etc/modules-load.d"])
        do {
            defer { _ = try? runCommand("/bin/umount", ["/etc/modules-load.d"]) }
            var mountAlert: [String: String]?
            var mountedFile: [String: String]?
            #expect(eventually(seconds: 5) {
                mountAlert = Self.authLogLines(containing: mountSource).compactMap(Self.alert(in:))
                    .first { $0["action"] == "directory-replacement" }
                mountedFile = Self.alertLines(containing: flood).first { $0["path"] == "/etc/modules-load.d/\(flood)-mounted.conf" }
                return mountAlert != nil && mountedFile != nil
            }, "mount \(String(describing: mountAlert)), file \(String(describing: mountedFile)); \(Self.pluginDiagnosis())")
            #expect(mountAlert?["path"] == "/etc/modules-load.d" && mountAlert?["original_path"] == mountSource)
            #expect(mountedFile?["original_path"] == "\(mountSource)/\(flood)-mounted.conf")
        }

        // A watch removed: the tamper alert, then the watch is back without anyone acting.
        let watch = ["always,exit", "-F", "arch=b64", "-F", "path=/etc/modprobe.d", "-F", "perm=wa", "-k", "audisp-lkm"]
        let since = Self.authLogLines(containing: "Audit Watch on Kernel Module Configuration Removed").count
        let rearmedBefore = Self.authLogLines(containing: "watches re-armed after removal").count
        try runCommand("/sbin/auditctl", ["-d"] + watch)
        #expect(eventually(seconds: 10) {
            Self.authLogLines(containing: "Audit Watch on Kernel Module Configuration Removed").count > since
        }, "no watch-removal alert; \(Self.pluginDiagnosis())")
        #expect(eventually(seconds: 10) {
            (try? runCommand("/sbin/auditctl", ["-l"]))?.contains("-F arch=b64 -S all -F path=/etc/modprobe.d -F perm=wa -F key=audisp-lkm") == true
        }, "the removed watch did not come back; \(Self.pluginDiagnosis())")
        #expect(eventually(seconds: 5) { Self.authLogLines(containing: "watches re-armed after removal").count > rearmedBefore })

        // The state report, on request.
        let pid = try #require(Self.pluginPID())
        kill(pid, SIGUSR1)
        let state = URL(fileURLWithPath: "/run/audisp-lkm.state")
        #expect(eventually { Int(stateReport(state)["alerts"] ?? "") ?? 0 >= 9 }, "\(stateReport(state)) pid \(pid)")
        // The `-d` above, and the rules the kernel dropped when the bind mount went away
        // (a watch on the mounted directory's inode, added again after the mount).
        #expect(Int(stateReport(state)["watch_removals"] ?? "") ?? 0 >= 1, "\(stateReport(state))")

        // The place a directory again (the link above would rightly fail check).
        try runCommand("/bin/rm", ["-f", place])
        try FileManager.default.createDirectory(atPath: place, withIntermediateDirectories: false)
        try complianceEvidence(payload: payload, work: work)

        // Uninstall, then nothing is left: files, rules, process.
        try runCommand(install, ["--uninstall"])
        for file in Self.installed + ["/run/audisp-lkm.state", "/var/lib/audisp-lkm"] {
            #expect(!FileManager.default.fileExists(atPath: file), "\(file) left behind")
        }
        #expect(try !runCommand("/sbin/auditctl", ["-l"]).contains("audisp-lkm"))
        #expect(eventually { Self.pluginPID() == nil }, "the plugin still runs")
    }

    /// `check` passes on this install and fails, with the fix, on each fault made here;
    /// `report --host-state` files the payload's history, the inventory and the checks in
    /// one page.
    private func complianceEvidence(payload: String, work: URL) throws {
        let binary = "/usr/sbin/audisp-lkm"
        /// The statuses by subject, and the exit status.
        func check(_ arguments: [String] = []) throws -> (status: Int32, results: [String: (status: String, fix: String?)]) {
            let run = try audispLKM(["check", "--format", "json"] + arguments, executable: binary)
            let document = try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any]
            let checks = (document?["audisp_lkm"] as? [String: Any])?["checks"] as? [[String: Any]] ?? []
            var results: [String: (String, String?)] = [:]
            for item in checks { results[item["check"] as? String ?? ""] = (item["status"] as? String ?? "", item["fix"] as? String) }
            return (run.status, results)
        }
        var passing = try check()
        #expect(passing.status == 0, "\(passing.results)")
        for subject in ["auditd", "plugin", "plugin conf", "output", "watch /etc/modprobe.d/", "watch /etc/modules"] {
            #expect(passing.results[subject]?.status == "PASS", "\(subject): \(String(describing: passing.results[subject]))")
        }

        // History: the payload appended to and its mode changed, seen through the dir= watches.
        try runCommand("/bin/sh", ["-c", "echo 'blacklist usb-storage' >> '\(payload)'; chmod 0600 '\(payload)'"])
        let page = work.appendingPathComponent("evidence.html").path
        // Every file of the rotation set: auditd may rotate audit.log meanwhile (max_log_file).
        func logs() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: "/var/log/audit").filter { $0.hasPrefix("audit.log") }
                .map { "/var/log/audit/" + $0 }
        }
        #expect(eventually(seconds: 10) {
            let run = try? audispLKM(["report", "--format", "json", "--since", "recent"] + logs(), executable: binary)
            let actions = run?.out.split(separator: "\n").filter { $0.contains(payload) }.compactMap { line in
                ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]).flatMap { ($0["event"] as? [String: Any])?["action"] as? String }
            } ?? []
            return Set(actions).isSuperset(of: ["creation", "modification", "attributes"])
        }, "the report lacks the payload's creation, modification or mode change")
        let bundle = try audispLKM(["report", "--host-state", "--profile", "cis-debian-12", "--format", "html", "-o", page] + logs(),
                                   executable: binary)
        #expect(bundle.status == 0, "\(bundle.err)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        for heading in ["1. What changed, who did it, and was it caught?", "2. What is configured now?", "3. Is the control in place?",
                        payload, "Profile cis-debian-12", "<svg"] {
            #expect(html.contains(heading), "the evidence page lacks \(heading)")
        }

        // A place the rule covers that no watch covers (a rule naming one more place).
        let rule = work.appendingPathComponent("wider.toml").path
        let upstream = try String(contentsOfFile: TestData.packageRoot.appendingPathComponent("Tests/Fixtures/wider-rule.toml").path, encoding: .utf8)
        try upstream.write(toFile: rule, atomically: false, encoding: .utf8)
        let settings = work.appendingPathComponent("wider.conf").path
        try "rule = \(rule)\n".write(toFile: settings, atomically: false, encoding: .utf8)
        var broken = try check(["--config", settings])
        #expect(broken.status == 1)
        #expect(broken.results["watch /etc/lkm-unwatched.d/"]?.status == "FAIL", "\(broken.results)")
        #expect(broken.results["watch /etc/lkm-unwatched.d/"]?.fix?.contains("augenrules --load") == true)

        // A world-writable plugin conf: auditd would ignore it, anyone could change it.
        let conf = "/etc/audit/plugins.d/audisp-lkm.conf"
        chmod(conf, 0o666)
        broken = try check()
        chmod(conf, 0o640)
        #expect(broken.status == 1)
        #expect(broken.results["plugin conf"]?.status == "FAIL" && broken.results["plugin conf"]?.fix?.contains("chmod 0640") == true,
                "\(String(describing: broken.results["plugin conf"]))")

        // A plugin that no longer answers (stopped, as a hung or killed one would be).
        let pid = try #require(Self.pluginPID())
        kill(pid, SIGSTOP)
        broken = try check()
        kill(pid, SIGCONT)
        #expect(broken.status == 1)
        #expect(broken.results["plugin"]?.status == "FAIL", "\(String(describing: broken.results["plugin"]))")

        // auditd stopped: then started again as install.sh does, and all passes again.
        try runCommand("/sbin/auditctl", ["--signal", "TERM"])
        #expect(eventually(seconds: 10) { !auditdIsRunning })
        broken = try check()
        #expect(broken.status == 1)
        #expect(broken.results["auditd"]?.status == "FAIL" && broken.results["auditd"]?.fix?.contains("start auditd") == true)
        try runCommand("/sbin/auditd", [])
        #expect(eventually(seconds: 10) { auditdIsRunning && Self.pluginPID() != nil }, "auditd or the plugin did not come back")
        #expect(eventually(seconds: 10) { (try? check())?.status == 0 }, "check does not pass after auditd restarted")
        passing = try check()
        #expect(passing.results["auditd"]?.status == "PASS")
    }

    /// The plugin auditd runs now: its child named audisp-lkm (one that exited may linger
    /// as a zombie where PID 1 does not reap orphans).
    static func pluginPID() -> pid_t? {
        guard let status = try? runCommand("/sbin/auditctl", ["-s"]),
              let auditd = status.split(separator: "\n").first(where: { $0.hasPrefix("pid ") })?.dropFirst(4),
              // Not a zombie: auditd stops reaping when its dispatcher exits with its last plugin.
              let children = try? runCommand("/usr/bin/pgrep", ["-x", "-r", "R,S,D,T", "-P", String(auditd), "audisp-lkm"])
        else { return nil }
        return children.split(separator: "\n").first.flatMap { pid_t($0) }
    }

    /// What the plugin says about itself: its state report (on SIGUSR1) and its messages
    /// to syslog's daemon facility.
    static func pluginDiagnosis() -> String {
        guard let pid = pluginPID() else { return "auditd runs no audisp-lkm" }
        kill(pid, SIGUSR1)
        let state = URL(fileURLWithPath: "/run/audisp-lkm.state")
        _ = eventually(seconds: 2) { !stateReport(state).isEmpty }
        let messages = (try? String(contentsOfFile: "/var/log/syslog", encoding: .utf8))?
            .split(separator: "\n").filter { $0.contains("audisp-lkm[") }.suffix(10) ?? []
        return "plugin \(pid) state \(stateReport(state)); its messages: \(Array(messages))"
    }

    /// Creates the rule directories this machine lacks; returns them, to remove afterwards.
    private func prepareDirectories() throws -> [String] {
        var made: [String] = []
        for directory in ["/etc/modprobe.d", "/etc/modules-load.d"] where !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            made.append(directory)
        }
        return made
    }

    /// The alerts in the authpriv log whose line mentions `marker`, as key-value maps.
    static func alertLines(containing marker: String) -> [[String: String]] {
        authLogLines(containing: marker).compactMap(alert(in:))
    }

    /// The plugin's alert in one authpriv log line, as a key-value map.
    static func alert(in line: Substring) -> [String: String]? {
        guard line.contains("audisp-lkm["), let start = line.range(of: "]: alert=") else { return nil }
        return KeyValueText.parse(line[line.index(start.lowerBound, offsetBy: 3)...])
    }

    static func authLogLines(containing marker: String) -> [Substring] {
        guard let text = try? String(contentsOfFile: authLog, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").filter { $0.contains(marker) }
    }
}

/// Reads the plugin's `key=value` lines back: bare values, or quoted with `\"`, `\\` and
/// `\xHH` escapes.
enum KeyValueText {
    static func parse(_ line: Substring) -> [String: String] {
        var fields: [String: String] = [:]
        var bytes = Array(line.utf8)[...]
        while !bytes.isEmpty {
            while bytes.first == UInt8(ascii: " ") { bytes.removeFirst() }
            guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else { break }
            let key = String(decoding: bytes[..<equals], as: UTF8.self)
            bytes = bytes[(equals + 1)...]
            var value: [UInt8] = []
            if bytes.first == UInt8(ascii: "\"") {
                bytes.removeFirst()
                while let byte = bytes.popFirst(), byte != UInt8(ascii: "\"") {
                    guard byte == UInt8(ascii: "\\"), let next = bytes.popFirst() else { value.append(byte); continue }
                    if next == UInt8(ascii: "x"), bytes.count >= 2 {
                        value.append(UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) ?? 0)
                        bytes.removeFirst(2)
                    } else {
                        value.append(next)
                    }
                }
            } else {
                while let byte = bytes.first, byte != UInt8(ascii: " ") { value.append(byte); bytes.removeFirst() }
            }
            fields[key] = String(decoding: value, as: UTF8.self)
        }
        return fields
    }
}
