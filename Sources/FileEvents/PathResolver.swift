/// A directory's identity in PATH records: device (`dev=fe:00`, as logged) and inode.
public struct DirectoryKey: Hashable, Sendable {
    public var device: String
    public var inode: UInt64

    public init(device: String, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}

/// Turns the names in PATH records into canonical absolute paths.
///
/// A PATH `name` is what the caller passed: absolute, relative to the working directory
/// (CWD record), or relative to a directory file descriptor. In the last case the
/// kernel logs the working directory as the PARENT item's name, which is meaningless;
/// only the PARENT item's device and inode identify the directory. Those are looked up
/// in a table learned from absolute names seen earlier in the stream (and, live, from
/// the watched directories at start-up). A name that cannot be resolved is reported
/// unresolved with the reason, never guessed.
public struct PathResolver: Sendable {
    public var usrMerge: UsrMerge
    /// Directories remembered at most; the table starts over when full.
    public let capacity: Int
    private var directories: [DirectoryKey: [UInt8]] = [:]

    public init(usrMerge: UsrMerge, capacity: Int = 1 << 16) {
        self.usrMerge = usrMerge
        self.capacity = capacity
    }

    /// Records that `key` is the directory at the canonical absolute `path`.
    public mutating func remember(directory path: [UInt8], as key: DirectoryKey) {
        if directories.count >= capacity { directories.removeAll(keepingCapacity: true) }
        directories[key] = path
    }

    /// The canonical path of an absolute name: `.`, `..` and `//` removed, merged `/usr`.
    public static func canonical(absolute name: [UInt8], usrMerge: UsrMerge) -> [UInt8] {
        usrMerge.canonical(PathText.normalize(name))
    }

    /// What the resolver makes of a PATH `name=` value as logged (quoted or hex) when it
    /// is absolute; nil for a relative, empty, `(null)` or malformed one, which only the
    /// whole event can resolve.
    public static func canonicalPath(logged: [UInt8], usrMerge: UsrMerge) -> [UInt8]? {
        guard let name = logged.withUnsafeBytes(AuditValue.decode), name.first == PathText.slash else { return nil }
        return canonical(absolute: name, usrMerge: usrMerge)
    }

    /// The directory part of a canonical path (`/etc` for `/etc/modules`).
    public static func directory(of path: [UInt8]) -> [UInt8] { PathText.directory(of: path) }

    /// Resolves a CREATE or DELETE item of `event`. `directoryArgument` is the system call
    /// argument holding the directory fd its name is relative to (nil: the CWD).
    mutating func resolve(_ item: PathItem, directoryArgument: Int?, in event: SyscallEvent) -> FilePath {
        var file = FilePath(loggedName: item.name, inode: item.inode, device: item.device, mode: item.mode)
        guard let name = item.name, !name.isEmpty else {
            file.unresolvedReason = item.hasName ? "the kernel logged no name for this item" : "the item has no name field"
            return file
        }
        let basename = PathText.basename(of: name)
        file.name = basename.isEmpty ? nil : basename
        let parent = parentKey(of: name, in: event.paths)

        let path: [UInt8]
        if name.first == PathText.slash {
            path = Self.canonical(absolute: name, usrMerge: usrMerge)
        } else if let descriptor = event.directoryDescriptor(argument: directoryArgument) {
            guard let parent else {
                file.unresolvedReason = "relative to directory fd \(descriptor), and the PARENT items do not say which directory"
                return file
            }
            guard let directory = directories[parent] else {
                file.unresolvedReason = "relative to directory fd \(descriptor): directory \(parent.device):\(parent.inode) not seen before in this stream"
                return file
            }
            file.path = usrMerge.canonical(PathText.join(directory, basename))
            file.name = PathText.basename(of: file.path!)
            return file
        } else {
            guard let cwd = event.cwd else {
                file.unresolvedReason = "relative name, and the event has no CWD record"
                return file
            }
            path = usrMerge.canonical(PathText.join(cwd, name))
        }
        file.path = path
        let last = PathText.basename(of: path)
        file.name = last.isEmpty ? nil : last
        if let parent { remember(directory: PathText.directory(of: path), as: parent) }
        return file
    }

    /// The device and inode of the directory holding `name`: the PARENT item the kernel
    /// logged for it. Items are matched by text because their order differs between
    /// kernel versions; a name without `/` has the working directory as its PARENT name
    /// (no trailing `/`). nil when no item, or items naming different directories, match.
    private func parentKey(of name: [UInt8], in paths: [PathItem]) -> DirectoryKey? {
        let expected = PathText.parentName(of: name)
        var found: DirectoryKey?
        for item in paths where item.nameType == .parent {
            guard let itemName = item.name else { continue }
            let matches = expected.map { itemName == $0 } ?? (itemName.last != PathText.slash)
            guard matches, let key = item.directoryKey else { continue }
            if let found, found != key { return nil }
            found = key
        }
        return found
    }
}
