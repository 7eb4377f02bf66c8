import Glibc

/// A destination for output lines: syslog, a file, standard output.
///
/// The narrow interface of a swift-log back end, for alerts. A sink is used from one
/// thread. `write` takes the whole line or throws, so the caller can keep the line and
/// try again later: nothing is lost silently and nothing is written twice.
public protocol AlertSink: AnyObject {
    /// What the sink writes to, for messages and the state report.
    var description: String { get }

    /// Writes one line (a newline or record boundary is added by the sink).
    func write(_ line: [UInt8]) throws(OutputError)

    /// Closes and reopens the destination: after logrotate moved a file away, or to
    /// reconnect to a restarted syslog daemon.
    func reopen() throws(OutputError)
}

/// Why a sink could not take a line.
public struct OutputError: Error, CustomStringConvertible, Equatable {
    /// What was being done: `connect /dev/log`, `write /var/log/audisp-lkm.log`.
    public var operation: String
    /// The `errno` value.
    public var code: CInt

    public init(_ operation: String, code: CInt = errno) {
        self.operation = operation
        self.code = code
    }

    public var description: String { "\(operation): \(String(cString: strerror(code)))" }
}
