import Glibc

/// Reading the small files evidence is made of (configuration files, package checksums,
/// /proc entries) without Foundation: whole or not at all, bounded, never blocking on a
/// FIFO.
public enum SmallFile {
    /// Why a file's bytes (or a directory's names) could not be had whole.
    public enum ReadProblem: Error, Equatable, CustomStringConvertible {
        /// A system call failed (`open`, `fstat`, `read`, `opendir`, `readdir`, `stat`).
        case failed(errno: Int32)
        case notRegularFile
        case largerThan(Int)

        public var description: String {
            switch self {
            case .failed(let code): String(cString: strerror(code))
            case .notRegularFile: "not a regular file"
            case .largerThan(let limit): "larger than \(limit >> 20) MiB"
            }
        }

        /// The path is not there (or a link to nothing): no error, an absence.
        public var isAbsence: Bool { [.failed(errno: ENOENT), .failed(errno: ENOTDIR), .failed(errno: ELOOP)].contains(self) }
    }

    /// The whole content of the regular file at `path`, if it has at most `limit` bytes.
    /// A read error is an error, never the end of the file.
    public static func contents(_ path: RawPath, limit: Int = 64 << 20) throws(ReadProblem) -> [UInt8] {
        let fd = path.withCString { open($0, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
        guard fd >= 0 else { throw .failed(errno: errno) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .failed(errno: errno) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .notRegularFile }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        // One byte past the limit tells a file of exactly `limit` bytes from a larger one.
        while bytes.count <= limit {
            let count = read(fd, &chunk, min(chunk.count, limit + 1 - bytes.count))
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw .failed(errno: errno) }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        guard bytes.count <= limit else { throw .largerThan(limit) }
        return bytes
    }

    /// The bytes of the regular file at `path`; nil when it is missing, unreadable, not a
    /// regular file or larger than `limit`.
    public static func bytes(_ path: RawPath, limit: Int = 64 << 20) -> [UInt8]? { try? contents(path, limit: limit) }

    public static func bytes(_ path: String, limit: Int = 64 << 20) -> [UInt8]? { bytes(RawPath(path), limit: limit) }

    public static func text(_ path: String, limit: Int = 64 << 20) -> String? {
        bytes(path, limit: limit).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `key = value` lines, as auditd's own files have them (`#` comments); the last of
    /// a key wins. nil when the file cannot be read.
    public static func settings(_ path: String) -> [String: String]? {
        guard let text = text(path) else { return nil }
        var settings: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.trimmed().hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmed() }
            if parts.count == 2 { settings[parts[0]] = parts[1] }
        }
        return settings
    }

    /// The canonical path (`realpath(3)`); nil when it does not resolve.
    public static func realPath(_ path: RawPath) -> RawPath? {
        guard let resolved = path.withCString({ realpath($0, nil) }) else { return nil }
        defer { free(resolved) }
        return RawPath(bytes: Array(UnsafeBufferPointer(start: resolved, count: strlen(resolved)).map { UInt8(bitPattern: $0) }))
    }

    public static func realPath(_ path: String) -> String? { realPath(RawPath(path))?.text }

    /// A symbolic link's target as written; nil when `path` is not a link.
    public static func linkTarget(_ path: RawPath) -> RawPath? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = path.withCString { readlink($0, &buffer, buffer.count - 1) }
        guard count >= 0 else { return nil }
        return RawPath(bytes: buffer[..<count].map { UInt8(bitPattern: $0) })
    }

    /// The names in a directory (not `.` and `..`) in byte order.
    public static func listing(of directory: RawPath) throws(ReadProblem) -> [RawPath] {
        var names: [RawPath] = []
        try forEachEntry(in: directory) { name, _ in
            names.append(name)
            return true
        }
        return names.sorted()
    }

    /// Calls `body` with each entry's name and inode (not `.` and `..`), in the order the
    /// file system gives them, until it returns false (`opendir(3)`, `readdir(3)`).
    public static func forEachEntry(in directory: RawPath, _ body: (_ name: RawPath, _ inode: UInt64) -> Bool)
        throws(ReadProblem) {
        guard let stream = directory.withCString({ opendir($0) }) else { throw .failed(errno: errno) }
        defer { closedir(stream) }
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw .failed(errno: errno) }
                return
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { RawPath(bytes: Array($0.prefix { $0 != 0 })) }
            if name.bytes == [0x2E] || name.bytes == [0x2E, 0x2E] { continue }
            if !body(name, UInt64(entry.pointee.d_ino)) { return }
        }
    }

    /// The names in a directory as display text (`DisplayText`), in byte order; none when
    /// it cannot be listed.
    public static func names(in directory: String) -> [String] { ((try? listing(of: RawPath(directory))) ?? []).map(\.text) }
}

/// This machine's host name (what a live report names the host whose records carry no
/// `node=`).
public enum LocalHost {
    public static var name: String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
        return String(cString: name)
    }
}
