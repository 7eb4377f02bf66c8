import CAudit
import Glibc

/// One source of audit records: a file (plain or gzip-compressed) or standard input.
///
/// Everything is read through zlib's `gzread`, which passes uncompressed data
/// through unchanged, so `audit.log`, `audit.log.1.gz` and a pipe all take the
/// same path.
public final class LogInput {
    /// The name used in messages: the path, or `-` for standard input.
    public let name: String
    /// The size in bytes of the file on disk, when it is a regular file.
    public let fileSize: Int64?
    private let handle: gzFile

    /// Opens `path` for reading; `-` is standard input.
    public init(path: String) throws(LogInputError) {
        let fd: CInt = path == "-" ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw LogInputError(input: path, reason: String(cString: strerror(errno)))
        }
        var status = stat()
        if fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw LogInputError(input: path, reason: "is a directory")
        }
        fileSize = (status.st_mode & S_IFMT) == S_IFREG ? Int64(status.st_size) : nil
        guard let handle = gzdopen(fd, "rb") else {
            close(fd)
            throw LogInputError(input: path, reason: "cannot allocate a zlib stream")
        }
        // zlib's own buffer: large reads keep system calls rare on big logs.
        gzbuffer(handle, 1 << 18)
        self.handle = handle
        self.name = path
    }

    deinit { gzclose_r(handle) }

    /// Reads up to `buffer.count` bytes; 0 means end of input.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(LogInputError) -> Int {
        let count = gzread(handle, buffer.baseAddress, UInt32(clamping: buffer.count))
        if count < 0 {
            var code: CInt = 0
            let message = gzerror(handle, &code).map { String(cString: $0) } ?? "read error"
            throw LogInputError(input: name, reason: message)
        }
        // zlib reports a truncated gzip stream as end of file plus Z_BUF_ERROR.
        if count == 0 {
            var code: CInt = 0
            _ = gzerror(handle, &code)
            if code == Z_BUF_ERROR {
                throw LogInputError(input: name, reason: "compressed data ends early (truncated .gz file)")
            }
        }
        return Int(count)
    }

    /// Reads the whole input, for small files (settings, rules): more than `limit` bytes
    /// is an error rather than a silently shortened file.
    public func readAll(limit: Int) throws(LogInputError) -> [UInt8] {
        var bytes: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)
        defer { chunk.deallocate() }
        while true {
            let count = try read(into: chunk)
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= limit else { throw LogInputError(input: name, reason: "larger than \(limit) bytes") }
        }
        return bytes
    }

    /// Bytes of the underlying file consumed so far (compressed bytes for .gz).
    public var bytesConsumed: Int64 { Int64(gzoffset(handle)) }
}

/// An input that could not be opened or read to its end.
public struct LogInputError: Error, CustomStringConvertible {
    public let input: String
    public let reason: String
    public var description: String { "\(input): \(reason)" }
}
