import Glibc

/// A path as the file system has it: bytes, which need not be UTF-8. Any bytes but `/`
/// and NUL make a name, and kmod and systemd read `\xff.conf` like any other `.conf`;
/// a path kept as a Swift `String` would lose such bytes, and with them the file.
public struct RawPath: Hashable, Sendable {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// A path given as text (an argument, a rule's place): its UTF-8.
    public init(_ path: String) { bytes = Array(path.utf8) }

    /// The path a `DisplayText` was made from.
    public init(displayText: String) { bytes = DisplayText.bytes(of: displayText) }

    /// For people, and for keys in evidence: `DisplayText`, which reads back exactly.
    public var text: String { DisplayText.of(bytes) }

    public static func + (path: RawPath, more: RawPath) -> RawPath { RawPath(bytes: path.bytes + more.bytes) }

    public func hasSuffix(_ suffix: String) -> Bool { bytes.count >= suffix.utf8.count && bytes.suffix(suffix.utf8.count).elementsEqual(suffix.utf8) }

    public func hasPrefix(_ prefix: String) -> Bool { bytes.starts(with: prefix.utf8) }

    /// Calls `body` with the path as a NUL-terminated C string.
    public func withCString<Result>(_ body: (UnsafePointer<CChar>) throws -> Result) rethrows -> Result {
        try (bytes + [0]).withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    /// What makes a file or directory of the detector's own unsafe: an owner other than
    /// root, or write permission for group or others (anyone could then change what the
    /// detector believes). nil when it is safe. auditd refuses its own files the same way.
    public static func ownershipFault(_ status: stat) -> String? {
        if status.st_uid != 0 { return "is owned by uid \(status.st_uid), not root" }
        if status.st_mode & 0o022 != 0 {
            return "can be written by group or others (mode \(String(status.st_mode & 0o7777, radix: 8)))"
        }
        return nil
    }

    /// `lstat(2)` (`followingLinks`: `stat(2)`).
    public func status(followingLinks: Bool = false) throws(SmallFile.ReadProblem) -> stat {
        var status = stat()
        let result = withCString { followingLinks ? stat($0, &status) : lstat($0, &status) }
        guard result == 0 else { throw .failed(errno: errno) }
        return status
    }
}
