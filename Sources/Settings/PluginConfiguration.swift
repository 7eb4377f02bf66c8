import AuditReading
import FileEvents
import Glibc
import HostFiles
import Outputs
import RuleEngine

/// The plugin's settings, from `/etc/audit/audisp-lkm.conf`.
///
/// The file is in auditd.conf's style: one `key = value` per line, `#` starts a comment
/// line, blank lines are ignored. Unknown keys, repeated keys and bad values are errors
/// that name the line, so a typo is never silently a default.
public struct PluginConfiguration: Equatable, Sendable {
    public static let defaultPath = "/etc/audit/audisp-lkm.conf"

    public enum Output: String, CaseIterable, Sendable {
        case syslog, file, stdout
    }

    public var output = Output.syslog
    public var format = OutputFormat.text
    public var syslogIdent = "audisp-lkm"
    public var syslogPriority = SyslogPriority(facility: "authpriv", severity: "warning")!
    public var syslogSocket = "/dev/log"
    public var file = "/var/log/audisp-lkm.log"
    /// A detection-rules TOML file; nil for the built-in rule.
    public var rule: String?
    /// At most this many alerts per group (host, program, directory) per `alertWindow`
    /// seconds; nil for no per-group cap.
    public var maximumAlerts: Int? = 25
    public var alertWindow = 300
    /// At most this many alerts per window over all groups; nil for no ceiling.
    public var alertCeiling: Int? = 500
    /// Seconds between two summaries of one group's withheld alerts.
    public var summaryInterval = 60
    public var inputQueueBytes = 4 << 20
    public var outputQueueAlerts = 1000
    public var stateFile = "/run/audisp-lkm.state"
    /// Whether /bin, /sbin and /lib* are links into /usr; nil: look at /lib at start.
    public var usrMerged: Bool?
    /// The key of the detector's audit watches: removing one raises an alert.
    public var watchKey = "audisp-lkm"
    /// Whether the plugin loads its io_uring watches at start and adds removed watches
    /// again (keeping CAP_AUDIT_CONTROL for that).
    public var manageWatches = true
    /// Where the baseline of the places is kept (root-only); nil: no baseline, no
    /// reconciling (`none`).
    public var stateDirectory: String? = "/var/lib/audisp-lkm"
    /// Seconds between two scans of the places when nothing blinded the detector.
    public var reconcileInterval = 60
    /// Whether modifications of existing files in the places alert (`ModificationRule`).
    public var modificationAlerts = true

    public init() {}

    /// The keys with their defaults and a short meaning, in the order the shipped file
    /// lists them (`--help` prints this table).
    public static let keys: [(key: String, default: String, help: String)] = [
        ("output", "syslog", "syslog, file or stdout"),
        ("format", "text", "text (key=value) or json (ECS)"),
        ("syslog_ident", "audisp-lkm", "the syslog tag"),
        ("syslog_facility", "authpriv", "kern, user, daemon, auth, local0-7 ..."),
        ("syslog_priority", "warning", "emerg, alert, crit, err ... debug"),
        ("syslog_socket", "/dev/log", "the syslog daemon's socket"),
        ("file", "/var/log/audisp-lkm.log", "the file output, reopened on SIGHUP"),
        ("rule", "builtin", "or a detection-rules TOML file"),
        ("max_alerts", "25", "per group and window, or unlimited"),
        ("alert_window", "300", "seconds"),
        ("alert_ceiling", "500", "all groups, per window, or unlimited"),
        ("summary_interval", "60", "seconds between a group's summaries"),
        ("input_queue_mib", "4", "MiB of records waiting, 1-1024"),
        ("output_queue", "1000", "alerts waiting for the output"),
        ("state_file", "/run/audisp-lkm.state", "written on SIGUSR1 and at exit"),
        ("usr_merge", "auto", "yes, no or auto: /lib is /usr/lib"),
        ("watch_key", "audisp-lkm", "key of the watches; removal alerts"),
        ("manage_watches", "yes", "load io_uring watches, re-add removed"),
        ("state_directory", "/var/lib/audisp-lkm", "the places' baseline, or none"),
        ("reconcile_interval", "60", "seconds between scans of the places"),
        ("modification_alerts", "yes", "alert on files changed in place"),
    ]

    /// The settings file and the rule file it names that are unsafe to trust
    /// (`RawPath.ownershipFault`): the plugin refuses to start on them, `check` fails them.
    /// Files that cannot be examined are the loader's business.
    public func unsafeFiles(configurationPath: String) -> [(subject: String, path: String, fault: String)] {
        [("settings file", configurationPath), ("rule file", rule)].compactMap { subject, path in
            guard let path, let status = try? RawPath(path).status(followingLinks: true),
                  let fault = RawPath.ownershipFault(status) else { return nil }
            return (subject, path, fault)
        }
    }

    /// The output these settings select. Nothing is opened or connected until the first
    /// write, so making one has no side effect (`check` describes it this way).
    public func makeSink() -> AlertSink {
        switch output {
        case .syslog:
            return SyslogSink(ident: syslogIdent, priority: syslogPriority, format: format, socketPath: syslogSocket)
        case .file: return FileSink(path: file)
        case .stdout: return FileSink()
        }
    }

    /// Reads the file at `path`; nil when it does not exist and was not `required` (the
    /// default path, which may be absent: then the defaults apply).
    public static func load(path: String, required: Bool) throws(ConfigurationError) -> PluginConfiguration? {
        guard required || RawPath(path).isAccessible(F_OK) else { return nil }
        return try load(path: path)
    }

    /// The rule the settings select: the built-in one, or the `rule` file.
    public func loadRule() throws(RuleError) -> DetectionRule {
        guard let rule else { return DetectionRule.defaultRule() }
        return try DetectionRule(contentsOf: rule)
    }

    /// The alert cap these settings ask for; nil when neither a group nor the ceiling is
    /// limited.
    public var capSettings: AlertCap.Settings? {
        guard maximumAlerts != nil || alertCeiling != nil else { return nil }
        return AlertCap.Settings(allowance: maximumAlerts ?? .max, window: Double(alertWindow), ceiling: alertCeiling,
                                 summaryInterval: Double(summaryInterval))
    }

    /// The `/usr` layout the settings mean (`usr_merge = auto` looks at this machine).
    public var usrMerge: UsrMerge { usrMerged.map(UsrMerge.init(isMerged:)) ?? .ofThisSystem }

    /// Reads the file at `path`.
    public static func load(path: String) throws(ConfigurationError) -> PluginConfiguration {
        let bytes: [UInt8]
        do { bytes = try LogInput(path: path).readAll(limit: 1 << 20) } catch {
            throw ConfigurationError(path: path, line: nil, message: error.reason)
        }
        return try parse(String(decoding: bytes, as: UTF8.self), path: path)
    }

    /// Parses configuration text; `path` names it in errors.
    public static func parse(_ text: String, path: String) throws(ConfigurationError) -> PluginConfiguration {
        var configuration = PluginConfiguration()
        var seen: [String: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            func fail(_ message: String) -> ConfigurationError {
                ConfigurationError(path: path, line: number, message: message)
            }
            guard let equals = line.firstIndex(of: "=") else { throw fail("expected `key = value`, found \"\(line)\"") }
            let key = String(line[..<equals].trimmingWhitespace())
            let value = String(line[line.index(after: equals)...].trimmingWhitespace())
            guard keys.contains(where: { $0.key == key }) else {
                throw fail("unknown key \"\(key)\" (known: \(keys.map(\.key).joined(separator: ", ")))")
            }
            if let first = seen[key] { throw fail("\(key) is already set on line \(first)") }
            seen[key] = number
            guard !value.isEmpty else { throw fail("\(key) has no value") }
            do { try configuration.set(key, to: value) } catch { throw fail("\(key): \(error.message)") }
        }
        return configuration
    }

    private struct ValueError: Error { var message: String }

    private mutating func set(_ key: String, to value: String) throws(ValueError) {
        func choice<T: RawRepresentable & CaseIterable>(_: T.Type) throws(ValueError) -> T where T.RawValue == String {
            guard let chosen = T(rawValue: value) else {
                throw ValueError(message: "\"\(value)\" is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return chosen
        }
        func integer(in range: ClosedRange<Int>) throws(ValueError) -> Int {
            guard let number = Int(value), range.contains(number) else {
                throw ValueError(message: "\"\(value)\" is not a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        func yesOrNo() throws(ValueError) -> Bool {
            switch value {
            case "yes": return true
            case "no": return false
            default: throw ValueError(message: "\"\(value)\" is not one of yes, no")
            }
        }
        func absolutePath() throws(ValueError) -> String {
            guard value.hasPrefix("/") else { throw ValueError(message: "\"\(value)\" is not an absolute path") }
            return value
        }
        switch key {
        case "output": output = try choice(Output.self)
        case "format": format = try choice(OutputFormat.self)
        case "syslog_ident":
            guard value.count <= 32, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
            else { throw ValueError(message: "\"\(value)\" must be at most 32 letters, digits, -, _ or .") }
            syslogIdent = value
        case "syslog_facility":
            guard let priority = SyslogPriority(facility: value, severity: syslogPriority.severity) else {
                throw ValueError(message: "\"\(value)\" is not one of \(SyslogPriority.facilities.map(\.0).joined(separator: ", "))")
            }
            syslogPriority = priority
        case "syslog_priority":
            guard let priority = SyslogPriority(facility: syslogPriority.facility, severity: value) else {
                throw ValueError(message: "\"\(value)\" is not one of \(SyslogPriority.severities.map(\.0).joined(separator: ", "))")
            }
            syslogPriority = priority
        case "syslog_socket": syslogSocket = try absolutePath()
        case "file": file = try absolutePath()
        case "rule": rule = value == "builtin" ? nil : try absolutePath()
        case "max_alerts": maximumAlerts = value == "unlimited" ? nil : try integer(in: 1...1_000_000)
        case "alert_window": alertWindow = try integer(in: 1...86_400)
        case "alert_ceiling": alertCeiling = value == "unlimited" ? nil : try integer(in: 1...10_000_000)
        case "summary_interval": summaryInterval = try integer(in: 1...86_400)
        case "input_queue_mib": inputQueueBytes = try integer(in: 1...1024) << 20
        case "output_queue": outputQueueAlerts = try integer(in: 1...1_000_000)
        case "state_file": stateFile = try absolutePath()
        case "usr_merge":
            switch value {
            case "auto": usrMerged = nil
            case "yes": usrMerged = true
            case "no": usrMerged = false
            default: throw ValueError(message: "\"\(value)\" is not one of auto, yes, no")
            }
        case "watch_key":
            guard value.utf8.count <= 31, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
            else { throw ValueError(message: "\"\(value)\" must be at most 31 letters, digits, -, _ or .") }
            watchKey = value
        case "manage_watches": manageWatches = try yesOrNo()
        case "state_directory": stateDirectory = value == "none" ? nil : try absolutePath()
        case "reconcile_interval": reconcileInterval = try integer(in: 5...86_400)
        case "modification_alerts": modificationAlerts = try yesOrNo()
        default: preconditionFailure("key \(key) is listed but not handled")
        }
    }
}

/// A configuration that cannot be used, with where and why.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var line: Int?
    public var message: String

    public var description: String { line.map { "\(path):\($0): \(message)" } ?? "\(path): \(message)" }
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}
