import Glibc

/// A path as the kernel knows it: bytes, which need not be UTF-8 (a file name may hold any
/// byte but `/` and NUL). The one path type of the project: a path logged in an audit
/// event, a place of the rule, a watch in the kernel and a file read from the host are
/// all `RawPath`s. Text appears only for people (`text`, `lossyText`).
public struct RawPath: Hashable, Comparable, Sendable, ExpressibleByStringLiteral {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// A path given as text (an argument, a rule's place): its UTF-8.
    public init(_ path: String) { bytes = Array(path.utf8) }

    public init(stringLiteral path: String) { self.init(path) }

    /// The path a `DisplayText` was made from.
    public init(displayText: String) { bytes = DisplayText.bytes(of: displayText) }

    /// For people, and for keys in evidence: `DisplayText`, which reads back exactly.
    public var text: String { DisplayText.of(bytes) }

    /// Its bytes read as UTF-8, each invalid byte replaced by U+FFFD: a place as the rule's
    /// text wrote it, a path in a message or a report's column as it always read.
    public var lossyText: String { String(decoding: bytes, as: UTF8.self) }

    public var isEmpty: Bool { bytes.isEmpty }

    /// Whether it starts at `/`.
    public var isAbsolute: Bool { bytes.first == Self.slash }

    /// Byte order (as `ls` sorts in the C locale).
    public static func < (left: RawPath, right: RawPath) -> Bool { left.bytes.lexicographicallyPrecedes(right.bytes) }

    public static func + (path: RawPath, more: RawPath) -> RawPath { RawPath(bytes: path.bytes + more.bytes) }

    public func hasSuffix(_ suffix: String) -> Bool { bytes.count >= suffix.utf8.count && bytes.suffix(suffix.utf8.count).elementsEqual(suffix.utf8) }

    public func hasPrefix(_ prefix: String) -> Bool { bytes.starts(with: prefix.utf8) }

    /// Whether `path` lies beneath this directory, textually: it starts with this path and
    /// a `/`.
    public func isAbove(_ path: RawPath) -> Bool {
        path.bytes.count > bytes.count && path.bytes[bytes.count] == Self.slash && path.bytes.starts(with: bytes)
    }

    /// Calls `body` with the path as a NUL-terminated C string.
    public func withCString<Result>(_ body: (UnsafePointer<CChar>) throws -> Result) rethrows -> Result {
        try (bytes + [0]).withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    static let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
}

// MARK: - Path text

/// Operations on a path's text. They are textual: the kernel does not log whether a
/// component was a symbolic link, so `..` removes the component before it.
extension RawPath {
    /// An absolute path with `.`, `..` and repeated `/` removed and no trailing `/`.
    public var normalized: RawPath {
        if isNormal { return self }
        var components: [ArraySlice<UInt8>] = []
        for component in bytes.split(separator: Self.slash, omittingEmptySubsequences: true) {
            if component.count == 1 && component.first == Self.dot { continue }
            if component.count == 2 && component.allSatisfy({ $0 == Self.dot }) {
                _ = components.popLast()
                continue
            }
            components.append(component)
        }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        for component in components {
            result.append(Self.slash)
            result.append(contentsOf: component)
        }
        return RawPath(bytes: result.isEmpty ? [Self.slash] : result)
    }

    /// Whether `normalized` is this path unchanged: absolute, and no empty, `.` or `..`
    /// component and no trailing `/` (as nearly every logged path is). One pass, no
    /// allocation.
    var isNormal: Bool {
        bytes.withUnsafeBufferPointer { bytes in
            guard bytes.first == Self.slash else { return false }
            if bytes.count == 1 { return true }
            // `start` is the first byte of the component being read.
            var start = 1
            for index in 1 ... bytes.count {
                guard index == bytes.count || bytes[index] == Self.slash else { continue }
                let length = index - start
                if length == 0 { return false }
                if length <= 2 && bytes[start] == Self.dot && (length == 1 || bytes[start + 1] == Self.dot) { return false }
                start = index + 1
            }
            return true
        }
    }

    /// This directory joined with the relative `path`, normalised.
    public func appending(_ path: RawPath) -> RawPath { appending(name: path.bytes) }

    /// This directory joined with `name` (one component, or a relative path), normalised.
    public func appending(name: [UInt8]) -> RawPath {
        RawPath(bytes: bytes + [Self.slash] + name).normalized
    }

    /// Everything before the last `/` (`/` for a top-level name; empty when there is no `/`).
    public var directory: RawPath {
        guard let last = bytes.lastIndex(of: Self.slash) else { return RawPath(bytes: []) }
        return last == 0 ? RawPath(bytes: [Self.slash]) : RawPath(bytes: Array(bytes[..<last]))
    }

    /// Everything after the last `/`: the name (`file.name`, `process.name`).
    public var lastComponent: [UInt8] {
        guard let last = bytes.lastIndex(of: Self.slash) else { return bytes }
        return Array(bytes[(last + 1)...])
    }

    /// The kernel logs a PARENT item's name as the caller's directory part, up to and
    /// including the last `/`; for a name without `/` it logs the working directory. nil
    /// for a name without `/`.
    public var loggedParent: RawPath? {
        guard let last = bytes.lastIndex(of: Self.slash) else { return nil }
        return RawPath(bytes: Array(bytes[...last]))
    }
}

// MARK: - Host status

extension RawPath {
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

    /// `access(2)`: whether this process may reach the file in `mode` (`F_OK`: it exists;
    /// `X_OK`, `W_OK`), with its real user, as a program it would run or a file it
    /// would write.
    public func isAccessible(_ mode: Int32) -> Bool { withCString { access($0, mode) } == 0 }

    /// `lstat(2)` (`followingLinks`: `stat(2)`).
    public func status(followingLinks: Bool = false) throws(SmallFile.ReadProblem) -> stat {
        var status = stat()
        let result = withCString { followingLinks ? stat($0, &status) : lstat($0, &status) }
        guard result == 0 else { throw .failed(errno: errno) }
        return status
    }
}
