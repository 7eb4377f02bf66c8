import Glibc

/// Where evidence is written: standard output or a file (`-o`), buffered. A write error
/// is kept and reported once at the end (`close`), so a full disk is never silent.
public final class EvidenceOutput {
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    public private(set) var error: String?

    /// Standard output.
    public init() {
        fd = STDOUT_FILENO
        ownsDescriptor = false
    }

    /// A new file at `path` (replaced if it exists, through a temporary name, so that an
    /// interrupted run never leaves half a page under the final name).
    public init(path: String) throws(EvidenceError) {
        temporaryPath = path + ".partial"
        finalPath = path
        // Made anew, never through a link planted under that name.
        unlink(path + ".partial")
        fd = open(path + ".partial", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw EvidenceError("\(path): \(String(cString: strerror(errno)))") }
        ownsDescriptor = true
    }

    private var temporaryPath: String?
    private var finalPath: String?

    public func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    public func write(bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    /// `bytes` and a newline.
    public func write(line bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { flush() }
    }

    public func flush() {
        var offset = 0
        while offset < buffer.count && error == nil {
            let written = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                error = String(cString: strerror(errno))
            } else {
                offset += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Abandons a file output: nothing is left under either name (an input refused midway).
    public func discard() {
        buffer.removeAll()
        guard ownsDescriptor, let temporaryPath else { return }
        Glibc.close(fd)
        unlink(temporaryPath)
        self.temporaryPath = nil
        finalPath = nil
    }

    /// Flushes and, for a file, puts it under its final name.
    public func close() throws(EvidenceError) {
        flush()
        if ownsDescriptor {
            if fsync(fd) != 0 && error == nil { error = String(cString: strerror(errno)) }
            Glibc.close(fd)
            if let temporaryPath, let finalPath {
                if let error { unlink(temporaryPath); throw EvidenceError("\(finalPath): \(error)") }
                guard rename(temporaryPath, finalPath) == 0 else { throw EvidenceError("\(finalPath): \(String(cString: strerror(errno)))") }
            }
        }
        if let error { throw EvidenceError("writing the evidence: \(error)") }
    }
}

public struct EvidenceError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
