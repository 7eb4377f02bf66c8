import Glibc

/// A syslog facility and severity, by the names syslog.conf and auditd's plugins use:
/// `authpriv` or `LOG_AUTHPRIV`, `warning` or `LOG_WARNING` (case does not matter).
public struct SyslogPriority: Equatable, Sendable, CustomStringConvertible {
    public var facility: String
    public var severity: String
    /// The `<PRI>` value: facility code times 8 plus severity.
    public let value: CInt

    public static let facilities: [(String, CInt)] = [
        ("kern", LOG_KERN), ("user", LOG_USER), ("mail", LOG_MAIL), ("daemon", LOG_DAEMON),
        ("auth", LOG_AUTH), ("syslog", LOG_SYSLOG), ("lpr", LOG_LPR), ("news", LOG_NEWS),
        ("uucp", LOG_UUCP), ("cron", LOG_CRON), ("authpriv", LOG_AUTHPRIV), ("ftp", LOG_FTP),
        ("local0", LOG_LOCAL0), ("local1", LOG_LOCAL1), ("local2", LOG_LOCAL2), ("local3", LOG_LOCAL3),
        ("local4", LOG_LOCAL4), ("local5", LOG_LOCAL5), ("local6", LOG_LOCAL6), ("local7", LOG_LOCAL7),
    ]
    public static let severities: [(String, CInt)] = [
        ("emerg", LOG_EMERG), ("alert", LOG_ALERT), ("crit", LOG_CRIT), ("err", LOG_ERR),
        ("warning", LOG_WARNING), ("notice", LOG_NOTICE), ("info", LOG_INFO), ("debug", LOG_DEBUG),
    ]

    /// Nil when either name is unknown.
    public init?(facility: String, severity: String) {
        func code(_ name: String, in table: [(String, CInt)]) -> (String, CInt)? {
            var key = name.lowercased()
            if key.hasPrefix("log_") { key.removeFirst(4) }
            return table.first { $0.0 == key }
        }
        guard let facility = code(facility, in: Self.facilities), let severity = code(severity, in: Self.severities)
        else { return nil }
        self.facility = facility.0
        self.severity = severity.0
        value = facility.1 | severity.1
    }

    public var description: String { "\(facility).\(severity)" }
}
