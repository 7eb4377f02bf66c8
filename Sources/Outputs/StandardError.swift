import Glibc

/// Diagnostics on standard error, written straight to fd 2 (no shared `FILE*`).
public enum StandardError {
    public static func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
        bytes.removeAll()
    }

    /// `audisp-lkm: <message>` on a line of its own.
    public static func report(_ message: String) { write("audisp-lkm: \(message)\n") }
}
