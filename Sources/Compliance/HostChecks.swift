import FileEvents
import Glibc
import Outputs
import AuditControl
import HostFiles
import PlaceBaseline
import Settings
import RuleEngine

/// The facts `check` establishes about this host, one `CheckResult` each: the proof that
/// the control is in place (and what `report --host-state` files with the evidence).
public enum HostChecks {
    public static let pluginConf = "/etc/audit/plugins.d/audisp-lkm.conf"
    public static let auditdConf = "/etc/audit/auditd.conf"

    public static func run(configuration: PluginConfiguration, rule: DetectionRule, configurationPath: String,
                           configurationText: String) -> [CheckResult] {
        var results = [CheckResult(.pass, "configuration", configurationText),
                       CheckResult(.pass, "rule", "\(rule.name), version \(rule.version.map(String.init) ?? "-")"
                                   + (configuration.rule.map { " (\($0))" } ?? " (built in)"))]
        results += ownFiles(configuration: configuration, configurationPath: configurationPath)
        let status = KernelStatus.load()
        // Asked once (/proc): both checks judge the same auditd.
        let liveAuditd = (try? status.get()).flatMap { $0.auditdIsAlive ? $0.pid : nil }
        results += auditd(status, liveAuditd: liveAuditd)
        results += watches(rule: rule, usrMerge: configuration.usrMerge)
        results += plugin(configuration: configuration, auditd: liveAuditd)
        results.append(output(configuration))
        results += auditdSettings()
        return results
    }

    // MARK: The detector's own files

    /// The settings and rule files and the state directory, which the plugin refuses to
    /// use when they are not root's or others can write them; and the baseline of the
    /// places, without which what is done while the detector cannot see goes unnamed.
    static func ownFiles(configuration: PluginConfiguration, configurationPath: String) -> [CheckResult] {
        var results = configuration.unsafeFiles(configurationPath: configurationPath).map { subject, path, fault in
            CheckResult(.fail, subject, "\(path) \(fault): the plugin refuses to start", fix: "chown root:root \(path); chmod go-w \(path)")
        }
        guard let directory = configuration.stateDirectory else {
            results.append(CheckResult(.warn, "baseline", "state_directory = none: changes made while the detector cannot see are not named",
                                       fix: "state_directory = /var/lib/audisp-lkm"))
            return results
        }
        guard let status = try? RawPath(directory).status() else {
            results.append(CheckResult(.warn, "baseline", "\(directory) does not exist yet: the plugin makes it when it starts"))
            return results
        }
        if let fault = RawPath.ownershipFault(status) {
            results.append(CheckResult(.fail, "baseline", "\(directory) \(fault): the plugin refuses to start",
                                       fix: "chown root:root \(directory); chmod 0700 \(directory)"))
            return results
        }
        switch Result(catching: { () throws(BaselineStore.Problem) in try BaselineStore(directory: directory).load() }) {
        case .success(let baseline?):
            results.append(CheckResult(baseline.complete ? .pass : .warn, "baseline",
                                       "\(baseline.entries.count) names of the places, last known true "
                                       + "\(Timestamp.iso8601(seconds: baseline.recorded, milliseconds: 0))" + (baseline.complete ? "" : "; incomplete (too many names)")))
        case .success(nil):
            results.append(CheckResult(.warn, "baseline", "none yet in \(directory): the plugin records it when it starts"))
        case .failure(let problem):
            results.append(CheckResult(.fail, "baseline", "\(problem)", fix: "remove it; the plugin records a new one (and says so)"))
        }
        return results
    }

    // MARK: auditd and the kernel

    static func auditd(_ loaded: Result<KernelStatus, WatchListError>, liveAuditd: UInt32?) -> [CheckResult] {
        guard case .success(let status) = loaded else {
            if case .failure(let error) = loaded {
                return [CheckResult(.fail, "auditd", "the kernel's audit status cannot be read: \(error)", fix: "run check as root")]
            }
            return []
        }
        var results: [CheckResult] = []
        if liveAuditd != nil {
            results.append(CheckResult(.pass, "auditd", "running (pid \(status.pid))"))
        } else {
            results.append(CheckResult(.fail, "auditd", status.pid == 0 ? "not running: the kernel has no audit daemon"
                                       : "not running: the kernel's auditd pid \(status.pid) is gone",
                                       fix: "start auditd (service auditd start)"))
        }
        switch status.enabled {
        case 0:
            results.append(CheckResult(.fail, "auditing", "off (auditctl -e 0): no record is made", fix: "auditctl -e 1"))
        case 2:
            results.append(CheckResult(.pass, "auditing", "on and locked (-e 2): the watches cannot be removed until reboot"))
        default:
            results.append(CheckResult(.warn, "auditing", "on, not locked: root can remove the watches (the plugin alerts and re-adds them)",
                                       fix: "end the rules with -e 2 (/etc/audit/rules.d/99-finalize.rules); rule changes then need a reboot"))
        }
        results.append(status.lost == 0 ? CheckResult(.pass, "lost records", "none since boot")
                       : CheckResult(.warn, "lost records", "\(status.lost) records lost since boot (backlog full, rate limit or no auditd)",
                                     fix: "raise the backlog (-b 8192 or more) and see auditd's messages in syslog"))
        results.append(status.backlogLimit >= 8192
                       ? CheckResult(.pass, "backlog", "limit \(status.backlogLimit), \(status.backlog) waiting")
                       : CheckResult(.warn, "backlog", "limit \(status.backlogLimit): a burst of records can be lost",
                                     fix: "-b 8192 in the rules (Debian's default rules have it)"))
        return results
    }

    // MARK: Watches

    static func watches(rule: DetectionRule, usrMerge: UsrMerge) -> [CheckResult] {
        let kernel: KernelWatches
        switch KernelWatches.load() {
        case .success(let watches): kernel = watches
        case .failure(let error):
            return [CheckResult(.fail, "watches", "the kernel's rules cannot be listed: \(error)", fix: "run check as root")]
        }
        let routes: [(name: String, missing: [RuleLocation])] = [
            ("b64", kernel.uncovered(rule.locations, usrMerge: usrMerge, architecture: "b64")),
            ("b32", kernel.uncovered(rule.locations, usrMerge: usrMerge, architecture: "b32")),
            ("io_uring", kernel.uncovered(rule.locations, usrMerge: usrMerge, list: 7)),
        ]
        let trees = kernel.uncovered(rule.locations, usrMerge: usrMerge, trees: true)
        var results: [CheckResult] = []
        for location in rule.locations {
            let missing = routes.filter { $0.missing.contains(location) }.map(\.name)
            let status = try? location.path.status(followingLinks: true)
            let needsTree = location.isDirectory && status.map { $0.st_mode & S_IFMT == S_IFDIR } ?? false
            let subject = "watch \(location)"
            if let target = SmallFile.linkTarget(location.path)?.bytes, location.isDirectory {
                results.append(CheckResult(.fail, subject, "a symbolic link to \(String(decoding: target, as: UTF8.self)): "
                                           + "creations there are seen only if the target is watched too",
                                           fix: "replace the link with the directory, or watch its target"))
            } else if !missing.isEmpty {
                let fix = missing == ["io_uring"] ? "audisp-lkm watches add (the plugin does at start when manage_watches = yes)"
                    : "install audit-rules/ into /etc/audit/rules.d and run augenrules --load"
                results.append(CheckResult(.fail, subject, "no watch on \(missing.joined(separator: ", ")): "
                                           + "creations there by that route make no record", fix: fix))
            } else if needsTree && trees.contains(location) {
                results.append(CheckResult(.warn, subject, "system calls (b64, b32) and io_uring watched; no dir= watch: "
                                           + "writes to existing files and mode or owner changes are not recorded",
                                           fix: "audisp-lkm watches add"))
            } else {
                results.append(CheckResult(.pass, subject, "watched: b64, b32, io_uring" + (needsTree ? ", its files (dir=)" : "")
                                           + (status != nil ? "" : " (missing now; watched for when it is made)")))
            }
        }
        return results
    }

    // MARK: The plugin

    static func plugin(configuration: PluginConfiguration, auditd: UInt32?) -> [CheckResult] {
        var results: [CheckResult] = []
        var confFailed = false
        guard let status = try? RawPath(pluginConf).status(followingLinks: true) else {
            return [CheckResult(.fail, "plugin conf", "\(pluginConf) is missing: auditd does not start the plugin",
                                fix: "./install.sh (or copy plugin-conf/audisp-lkm.conf there and signal auditd)")]
        }
        // auditd 3.0.9 skips a plugin conf not owned by root or writable by others.
        if status.st_uid != 0 || status.st_mode & 0o002 != 0 {
            confFailed = true
            results.append(CheckResult(.fail, "plugin conf", "\(pluginConf) is \(status.st_uid == 0 ? "world-writable" : "not owned by root")"
                                       + " (mode \(String(status.st_mode & 0o7777, radix: 8))): auditd ignores it and anyone could change it",
                                       fix: "chown root:root \(pluginConf); chmod 0640 \(pluginConf)"))
        }
        let settings = SmallFile.settings(pluginConf) ?? [:]
        if settings["active"] != "yes" {
            confFailed = true
            results.append(CheckResult(.fail, "plugin conf", "active = \(settings["active"] ?? "(missing)"): auditd does not start the plugin",
                                       fix: "active = yes in \(pluginConf), then service auditd reload"))
        }
        let path = settings["path"] ?? ""
        let this = SmallFile.linkTarget(RawPath("/proc/self/exe")).map(\.lossyText) ?? ""
        let binary = path.isEmpty ? nil : try? RawPath(path).status(followingLinks: true)
        if binary == nil {
            results.append(CheckResult(.fail, "plugin binary", "path = \(path.isEmpty ? "(missing)" : path): no such file",
                                       fix: "./install.sh"))
        } else if let binary, RawPath.ownershipFault(binary) != nil {
            results.append(CheckResult(.fail, "plugin binary", "\(path) is not owned by root or is writable by others",
                                       fix: "chown root:root \(path); chmod 0750 \(path)"))
        } else if SmallFile.realPath(path) ?? path != SmallFile.realPath(this) ?? this {
            results.append(CheckResult(.warn, "plugin binary", "auditd runs \(path), not this binary (\(this))",
                                       fix: "run the installed \(path) check, or ./install.sh to install this build"))
        } else if !confFailed {
            results.append(CheckResult(.pass, "plugin conf", "\(pluginConf): active, runs this binary (\(path)), root-owned"))
        }
        guard let auditd else {
            results.append(CheckResult(.fail, "plugin", "not running: auditd is not running", fix: "start auditd"))
            return results
        }
        guard let pid = Self.child(of: auditd, named: "audisp-lkm") else {
            results.append(CheckResult(.fail, "plugin", "auditd (pid \(auditd)) runs no audisp-lkm",
                                       fix: "service auditd reload (or restart); auditd's messages in syslog say why it stopped"))
            return results
        }
        // A live plugin writes its state report on SIGUSR1 within milliseconds.
        let stateFile = RawPath(configuration.stateFile)
        let before = try? stateFile.status(followingLinks: true)
        kill(pid_t(pid), SIGUSR1)
        var fresh = false
        for _ in 0..<30 {
            usleep(100_000)
            if let now = try? stateFile.status(followingLinks: true),
               before.map({ now.st_mtim.tv_sec != $0.st_mtim.tv_sec || now.st_mtim.tv_nsec != $0.st_mtim.tv_nsec }) ?? true {
                fresh = true
                break
            }
        }
        if fresh {
            let report = SmallFile.text(configuration.stateFile) ?? ""
            let records = report.split(separator: "\n").first { $0.hasPrefix("records = ") }.map { String($0.dropFirst(10)) } ?? "?"
            results.append(CheckResult(.pass, "plugin", "running (pid \(pid)), state report fresh (\(configuration.stateFile): records = \(records))"))
        } else {
            results.append(CheckResult(.fail, "plugin", "running (pid \(pid)) but its state report \(configuration.stateFile) did not answer SIGUSR1 in 3 s",
                                       fix: "see the plugin's messages in syslog; service auditd restart"))
        }
        return results
    }

    /// The pid of a process named `name` whose parent is `parent`, from /proc.
    static func child(of parent: UInt32, named name: String) -> UInt32? {
        for entry in SmallFile.names(in: "/proc") {
            guard let pid = UInt32(entry), let stat = SmallFile.text("/proc/\(pid)/stat"),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { continue }
            let comm = stat[stat.index(after: open)..<close]
            let rest = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            // Fields after the name: state, ppid. A zombie (Z) has exited.
            if comm == name, rest.count > 1, rest[0] != "Z", UInt32(rest[1]) == parent { return pid }
        }
        return nil
    }

    // MARK: Output

    static func output(_ configuration: PluginConfiguration) -> CheckResult {
        let sink = configuration.makeSink().description
        switch configuration.output {
        case .syslog:
            do { try SyslogSocket(path: configuration.syslogSocket).connect() } catch {
                return CheckResult(.fail, "output", "\(sink): NOT REACHABLE (\(error))", fix: "start the syslog daemon (rsyslogd)")
            }
        case .file:
            // The plugin appends, creating the file when missing.
            let file = configuration.file
            let target = RawPath(file).isAccessible(F_OK) ? RawPath(file) : RawPath(file).directory
            if !target.isAccessible(W_OK) {
                return CheckResult(.fail, "output", "\(sink): NOT WRITABLE (\(target.lossyText): \(String(cString: strerror(errno))))",
                                   fix: "create \(target.lossyText) writable by root, or choose another output")
            }
        case .stdout: break
        }
        return CheckResult(.pass, "output", "\(sink): takes alerts")
    }

    // MARK: auditd.conf

    /// The settings of auditd.conf under which records are dropped: a full disk, a plugin
    /// queue that overflows.
    static func auditdSettings() -> [CheckResult] {
        guard let read = SmallFile.settings(auditdConf) else {
            return [CheckResult(.warn, "auditd.conf", "\(auditdConf) cannot be read")]
        }
        // auditd reads these keys and values case-insensitively.
        let settings = Dictionary(read.map { ($0.key.lowercased(), $0.value.lowercased()) }, uniquingKeysWith: { _, last in last })
        var results: [CheckResult] = []
        let diskFull = settings["disk_full_action"] ?? "suspend"
        switch diskFull {
        case "single", "halt":
            results.append(CheckResult(.pass, "disk_full_action", "\(diskFull): nothing is audited unlogged"))
        case "ignore":
            results.append(CheckResult(.fail, "disk_full_action", "ignore: records are dropped silently when the disk is full",
                                       fix: "disk_full_action = SINGLE or HALT (or SUSPEND and watch the disk) in \(auditdConf)"))
        default:
            results.append(CheckResult(.warn, "disk_full_action", "\(diskFull): records are not written while the disk is full",
                                       fix: "keep /var/log/audit from filling (space_left_action), or SINGLE/HALT where evidence must be complete"))
        }
        let depth = Int(settings["q_depth"] ?? "") ?? 0
        results.append(depth >= 2000 ? CheckResult(.pass, "q_depth", "\(depth) records for the plugins")
                       : CheckResult(.warn, "q_depth", "\(settings["q_depth"] ?? "unset"): a burst can overflow the plugins' queue",
                                     fix: "q_depth = 2000 or more in \(auditdConf)"))
        let overflow = settings["overflow_action"] ?? "syslog"
        switch overflow {
        case "single", "halt":
            results.append(CheckResult(.pass, "overflow_action", "\(overflow)"))
        case "ignore", "suspend":
            results.append(CheckResult(.fail, "overflow_action", "\(overflow): a full plugin queue "
                                       + (overflow == "ignore" ? "drops records silently" : "stops every plugin until auditd restarts"),
                                       fix: "overflow_action = SYSLOG (drops are logged) or SINGLE in \(auditdConf)"))
        default:
            results.append(CheckResult(.warn, "overflow_action", "\(overflow): when the plugins' queue is full, records are dropped and syslog says so",
                                       fix: "watch syslog for auditd's \"queue is full\" messages; raise q_depth"))
        }
        return results
    }
}

