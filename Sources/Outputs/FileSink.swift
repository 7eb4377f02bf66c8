import Glibc

/// Alerts appended to a file, one line each, or written to standard output.
///
/// A line goes out in one `write` when the kernel allows; after a short write (a full
/// disk) the rest is kept and sent first on the next call, so a retried line is never
/// written twice or torn apart by another.
public final class FileSink: AlertSink {
    /// The file's path; nil for standard output.
    public let path: String?
    private var descriptor: CInt = -1
    private var pending: [UInt8] = []
    private var pendingOffset = 0

    /// A sink appending to `path` (created 0640 when missing). The file is opened by the
    /// first write, so a missing directory is an output fault like any other.
    public init(path: String) {
        self.path = path
    }

    /// A sink writing to standard output.
    public init() {
        path = nil
        descriptor = STDOUT_FILENO
    }

    deinit { if path != nil && descriptor >= 0 { close(descriptor) } }

    public var description: String { path.map { "file \($0)" } ?? "standard output" }

    public func write(_ line: [UInt8]) throws(OutputError) {
        if pending.isEmpty {
            pending = line
            pending.append(UInt8(ascii: "\n"))
            pendingOffset = 0
        }
        if descriptor < 0 { try reopen() }
        while pendingOffset < pending.count {
            let written = pending.withUnsafeBytes {
                Glibc.write(descriptor, $0.baseAddress! + pendingOffset, $0.count - pendingOffset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw OutputError("write \(description)")
            }
            pendingOffset += written
        }
        pending.removeAll(keepingCapacity: true)
    }

    public func reopen() throws(OutputError) {
        guard let path else { return }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw OutputError("open \(path)") }
        if descriptor >= 0 { close(descriptor) }
        descriptor = fd
    }
}
