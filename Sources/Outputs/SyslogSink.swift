/// Alerts to the local syslog daemon, one message per alert.
///
/// With JSON lines the message starts with rsyslog's `@cee:` cookie, so mmjsonparse (or
/// any CEE-aware collector) reads the document as structured data.
public final class SyslogSink: AlertSink {
    public let ident: String
    public let priority: SyslogPriority
    /// Put before every message: `@cee:` for JSON, nothing for text.
    public let cookie: [UInt8]
    private let socket: SyslogSocket

    public init(ident: String, priority: SyslogPriority, format: OutputFormat, socketPath: String = "/dev/log") {
        self.ident = ident
        self.priority = priority
        cookie = format == .json ? Array("@cee:".utf8) : []
        socket = SyslogSocket(path: socketPath)
    }

    public var description: String { "syslog \(priority) as \(ident) via \(socket.path)" }

    public func write(_ line: [UInt8]) throws(OutputError) {
        try socket.send(cookie.isEmpty ? line : cookie + line, priority: priority.value, ident: ident)
    }

    public func reopen() throws(OutputError) { socket.disconnect() }
}
