import Glibc

/// Textual operations on file paths, as bytes: Linux paths need not be UTF-8.
public enum PathText {
    static let slash = UInt8(ascii: "/")
    static let dot = UInt8(ascii: ".")

    /// An absolute path with `.`, `..` and repeated `/` removed and no trailing `/`.
    /// `..` is taken textually (the kernel does not log whether a component was a link).
    public static func normalize(_ path: [UInt8]) -> [UInt8] {
        if isNormal(path) { return path }
        var components: [ArraySlice<UInt8>] = []
        for component in path.split(separator: slash, omittingEmptySubsequences: true) {
            if component.count == 1 && component.first == dot { continue }
            if component.count == 2 && component.allSatisfy({ $0 == dot }) {
                _ = components.popLast()
                continue
            }
            components.append(component)
        }
        var result: [UInt8] = []
        result.reserveCapacity(path.count)
        for component in components {
            result.append(slash)
            result.append(contentsOf: component)
        }
        return result.isEmpty ? [slash] : result
    }

    /// Whether `normalize` would return `path` unchanged: absolute, and no empty, `.` or
    /// `..` component and no trailing `/` (as nearly every logged path is). One pass, no
    /// allocation.
    static func isNormal(_ path: [UInt8]) -> Bool {
        path.withUnsafeBufferPointer { bytes in
            guard bytes.first == slash else { return false }
            if bytes.count == 1 { return true }
            // `start` is the first byte of the component being read.
            var start = 1
            for index in 1 ... bytes.count {
                guard index == bytes.count || bytes[index] == slash else { continue }
                let length = index - start
                if length == 0 { return false }
                if length <= 2 && bytes[start] == dot && (length == 1 || bytes[start + 1] == dot) { return false }
                start = index + 1
            }
            return true
        }
    }

    /// `base` joined with the relative `name`, normalised.
    public static func join(_ base: [UInt8], _ name: [UInt8]) -> [UInt8] {
        normalize(base + [slash] + name)
    }

    /// Everything before the last `/` (`"/"` for a top-level name).
    public static func directory(of path: [UInt8]) -> [UInt8] {
        guard let last = path.lastIndex(of: slash) else { return [] }
        return last == 0 ? [slash] : Array(path[..<last])
    }

    /// Everything after the last `/`.
    public static func basename(of path: [UInt8]) -> [UInt8] {
        guard let last = path.lastIndex(of: slash) else { return path }
        return Array(path[(last + 1)...])
    }

    /// The kernel logs a PARENT item's name as the caller's directory part, up to and
    /// including the last `/`; for a name without `/` it logs the working directory.
    static func parentName(of name: [UInt8]) -> [UInt8]? {
        guard let last = name.lastIndex(of: slash) else { return nil }
        return Array(name[...last])
    }

    /// ECS `file.extension`: the text after the last `.` of the name; none when there is
    /// no `.`, when the only `.` starts the name (a dot file), or when the name ends in `.`.
    static func fileExtension(of name: [UInt8]) -> [UInt8]? {
        guard let last = name.lastIndex(of: dot), last > 0, last < name.count - 1 else { return nil }
        return Array(name[(last + 1)...])
    }
}

/// Merged-/usr systems (Debian 12, Fedora, Ubuntu, RHEL 9...) make `/bin`, `/sbin`,
/// `/lib*` symbolic links into `/usr`. The kernel logs names as passed, so
/// `/lib/modprobe.d/x.conf` must become `/usr/lib/modprobe.d/x.conf`, which is the file's
/// canonical path (what Elastic Defend reports, walking dentries).
public struct UsrMerge: Sendable {
    /// Whether the aliases apply (false: a split-/usr system, paths are left as they are).
    public var isMerged: Bool

    public init(isMerged: Bool) { self.isMerged = isMerged }

    /// This machine's layout: merged when /lib is a link into /usr.
    public static var ofThisSystem: UsrMerge {
        var status = stat()
        return UsrMerge(isMerged: lstat("/lib", &status) == 0 && (status.st_mode & S_IFMT) == S_IFLNK)
    }

    private static let aliases: [[UInt8]] = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"].map { Array($0.utf8) }

    /// Rewrites an aliased directory prefix; the final component is never rewritten
    /// (it may itself be a link, and the rule is about the name that was made).
    public func canonical(_ path: [UInt8]) -> [UInt8] {
        guard isMerged else { return path }
        for alias in Self.aliases where path.count > alias.count + 1 && path.starts(with: alias)
            && path[alias.count] == PathText.slash {
            // The alias must be a directory of the path: something follows its '/'.
            return Array("/usr".utf8) + path
        }
        return path
    }
}
