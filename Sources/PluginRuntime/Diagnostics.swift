import Glibc
import Outputs
import Synchronization

/// The plugin's messages about itself (start, reload, warnings, output faults): to
/// syslog as `daemon.SEVERITY` and to standard error, never waiting on either. A message
/// the syslog daemon does not take is counted, not retried.
public final class Diagnostics: Sendable {
    public let ident: String
    private let socket: Mutex<SyslogSocket>
    private let unsentCount = Atomic<Int>(0)

    public init(ident: String = "audisp-lkm", socketPath: String = "/dev/log") {
        self.ident = ident
        socket = Mutex(SyslogSocket(path: socketPath))
    }

    /// Sends later messages to the syslog daemon at `socketPath`.
    public func use(socketPath: String) {
        socket.withLock { socket in
            if socket.path != socketPath { socket = SyslogSocket(path: socketPath) }
        }
    }

    public func info(_ message: String) { log(LOG_INFO, message) }
    public func warning(_ message: String) { log(LOG_WARNING, "warning: " + message) }
    public func error(_ message: String) { log(LOG_ERR, "error: " + message) }

    /// Messages that did not reach syslog (they still went to standard error).
    public var unsent: Int { unsentCount.load(ordering: .relaxed) }

    private func log(_ severity: CInt, _ message: String) {
        let line = "\(ident): \(message)\n"
        _ = line.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
        let sent = socket.withLock { socket -> Bool in
            do { try socket.send(Array(message.utf8), priority: LOG_DAEMON | severity, ident: ident) } catch { return false }
            return true
        }
        if !sent { unsentCount.add(1, ordering: .relaxed) }
    }
}
