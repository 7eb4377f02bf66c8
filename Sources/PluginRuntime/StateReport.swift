import Glibc
import Outputs

/// The plugin's counters as `key = value` lines, like auditd's own state report
/// (`/var/run/auditd.state`), written on SIGUSR1 and at exit.
public struct StateReport {
    public private(set) var lines: [(key: String, value: String)] = []

    public init() {}

    public mutating func add(_ key: String, _ value: CustomStringConvertible) {
        lines.append((key, value.description))
    }

    public var text: String { lines.map { "\($0.key) = \($0.value)\n" }.joined() }

    /// Replaces the file at `path` in one step (a reader never sees half a report).
    public func write(to path: String) throws(OutputError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw OutputError("open \(temporary)") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        // A short write without an error is a full disk.
        let writeError = written < 0 ? errno : ENOSPC
        close(fd)
        guard written == bytes.count else {
            let error = OutputError("write \(temporary)", code: writeError)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = OutputError("rename to \(path)")
            unlink(temporary)
            throw error
        }
    }
}
