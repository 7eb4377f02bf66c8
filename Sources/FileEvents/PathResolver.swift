import HostFiles

/// A directory's identity in PATH records: the host (`node=`; hosts cloned from one image
/// share inode numbers), device (`dev=fe:00`, as logged) and inode.
public struct DirectoryKey: Hashable, Sendable {
    public var node: String?
    public var device: String
    public var inode: UInt64

    public init(node: String?, device: String, inode: UInt64) {
        self.node = node
        self.device = device
        self.inode = inode
    }
}

/// Turns the names in PATH records into canonical absolute paths.
///
/// A PATH `name` is what the caller passed: absolute, relative to the working directory
/// (CWD record), or relative to a directory file descriptor. Kernel fact: for a name
/// without `/`, the PARENT item's name is the working directory's path (`d_path`, `"/"`
/// at the root, else no trailing `/`) while its device and inode are those of the
/// directory actually used, the descriptor's; for a name with `/`, the PARENT name is the
/// caller's text up to its last `/`. So a descriptor's directory is known only by
/// (device, inode), looked up in a table of directories learned from the stream (every
/// PATH item that names a directory absolutely, or relative to the working directory)
/// and, live, from the file system. A name that cannot be resolved is reported
/// unresolved with the reason, never guessed.
public struct PathResolver: Sendable {
    public var usrMerge: UsrMerge
    /// Learned directories remembered at most; the learned ones are forgotten when full
    /// (the ones the plugin read from the file system stay).
    public let capacity: Int
    /// Live only: asked for the directories the rule covers as they stand now, when a
    /// descriptor's directory is not in the table (created or replaced since start-up).
    public var lookUpDirectories: (@Sendable () -> [(path: RawPath, key: DirectoryKey)])?
    /// Bound: `capacity` entries. Cost per PATH item: a hash look-up (and, for a directory
    /// learned or moved, a pass over its path's bytes to count it below its ancestors).
    private var directories: [DirectoryKey: Directory] = [:]
    /// How many known directories lie below each path, by a hash of host and path
    /// (`forEachAncestorHash`): a directory removed or renamed with none below it (the
    /// usual case; `rmdir` needs it empty) costs O(1), one with known directories below it
    /// a pass over the table.
    private var below: [UInt64: Int] = [:]
    /// The canonical paths of the places the rule covers (its directories, and those of
    /// the files it names). A directory known under one of them keeps that name against
    /// any other spelling (a bind mount, a chroot, a container's view), and the files in it
    /// get their canonical path whatever name the process used.
    public var places: Set<RawPath> = [] {
        didSet { placesAndParents = places.union(places.map(\.directory)) }
    }
    /// The places and their parent directories (where a place itself can be made or
    /// replaced under another spelling).
    private var placesAndParents: Set<RawPath> = []
    /// Per host, whether a rename's new name has its PARENT item first, as seen in a
    /// rename whose two PARENT items have different texts (see `Role`).
    private var newNameFirst: [String?: Bool] = [:]
    public private(set) var statistics = PathStatistics()

    private struct Directory {
        var path: RawPath
        /// Read from the file system (the plugin's start-up or a look-up), not the stream.
        var fromFileSystem: Bool
        /// The absolute PARENT name it was last learned from, as logged: most events name
        /// the same few directories the same way, and need not be normalised again.
        var spelling: RawPath? = nil
    }

    public init(usrMerge: UsrMerge, capacity: Int = 1 << 16) {
        self.usrMerge = usrMerge
        self.capacity = capacity
    }

    /// The number of directories known.
    public var count: Int { directories.count }

    /// The canonical path of the directory `key`, when known.
    public func path(of key: DirectoryKey) -> RawPath? { directories[key]?.path }

    /// Whether the host's order of a rename's PARENT items is known (`Role`).
    public func knowsRenameOrder(of node: String?) -> Bool { newNameFirst[node] != nil }

    /// Whether `path` is a place, or the parent of one.
    public func isPlaceOrParent(_ path: RawPath) -> Bool { placesAndParents.contains(path) }

    /// Records that `key` is the directory at the canonical absolute `path`, as the file
    /// system shows it now.
    public mutating func remember(directory path: RawPath, as key: DirectoryKey) {
        store(path, as: key, fromFileSystem: true)
    }

    private mutating func store(_ path: RawPath, as key: DirectoryKey, fromFileSystem: Bool) {
        if let old = directories[key] {
            countBelow(old.path, node: key.node, by: -1)
        } else if directories.count >= capacity {
            directories = directories.filter { $0.value.fromFileSystem }
            below = [:]
            for (key, directory) in directories { countBelow(directory.path, node: key.node, by: 1) }
        }
        directories[key] = Directory(path: path, fromFileSystem: fromFileSystem)
        countBelow(path, node: key.node, by: 1)
    }

    /// Adds `delta` to the count of every directory above `path` (not `/`).
    private mutating func countBelow(_ path: RawPath, node: String?, by delta: Int) {
        Self.forEachAncestorHash(of: path, node: node) { hash in
            let count = below[hash, default: 0] + delta
            below[hash] = count > 0 ? count : nil
        }
    }

    /// Whether a known directory lies below `path` on `node` (or a hash collides: then
    /// only a pass over the table is spent).
    private func hasKnownDirectoriesBelow(_ path: RawPath, node: String?) -> Bool {
        below[Self.hash(path.bytes[...], node: node)] != nil
    }

    /// FNV-1a of the host and each proper prefix of `path` that ends before a `/` (for
    /// `/a/b/c`: `/a`, `/a/b`), computed in one pass.
    private static func forEachAncestorHash(of path: RawPath, node: String?, _ body: (UInt64) -> Void) {
        var hash = hash(ArraySlice(), node: node)
        for (index, byte) in path.bytes.enumerated() {
            if byte == UInt8(ascii: "/") && index > 0 { body(hash) }
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
    }

    private static func hash(_ path: ArraySlice<UInt8>, node: String?) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in node?.utf8 ?? "".utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        hash = (hash ^ 0xFF) &* 0x100_0000_01B3
        for byte in path { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }

    /// The canonical path of an absolute name: `.`, `..` and `//` removed, merged `/usr`.
    public static func canonical(absolute name: RawPath, usrMerge: UsrMerge) -> RawPath {
        usrMerge.canonical(name.normalized)
    }

    /// What the resolver makes of a PATH `name=` value as logged (quoted or hex) when it
    /// is absolute; nil for a relative, empty, `(null)` or malformed one, which only the
    /// whole event can resolve.
    public static func canonicalPath(logged: [UInt8], usrMerge: UsrMerge) -> RawPath? {
        guard let name = decodedName(logged: logged), name.isAbsolute else { return nil }
        return canonical(absolute: name, usrMerge: usrMerge)
    }

    /// A name as the kernel logged it (quoted, or hex), decoded; nil for `(null)` or bad hex.
    public static func decodedName(logged: [UInt8]) -> RawPath? {
        logged.withUnsafeBytes(AuditValue.decode).map(RawPath.init(bytes:))
    }

    /// Which name of a two-name call (rename) an item is. Kernel fact: its two PARENT
    /// items come in the order the names were copied in (getname): for io_uring, its prep
    /// function's, the old name first; for system calls, the order the compiler evaluated
    /// the system call's arguments in (the new name first in Debian's x86_64 kernel, the
    /// other way with another compiler). That order alone tells them apart when both carry
    /// the same text (two descriptors and names without `/`, or io_uring's `(null)`). For
    /// system calls it is learned per host from any rename whose PARENT items differ in
    /// text; until then a same-text rename is read new-name-first, with the other reading
    /// kept (`alternativePath`) for the rule engine to weigh.
    enum Role { case newName, oldName }

    /// Resolves a CREATE or DELETE item of `event`. `directoryArgument` is the system call
    /// argument holding the directory fd its name is relative to (nil: the CWD). When
    /// only the directory is missing, `awaitedDirectory` says which: replay resolves the
    /// file once the stream names it (`place(_:in:)`).
    mutating func resolve(_ item: PathItem, role: Role, directoryArgument: Int?, in event: SyscallEvent,
                          node: String?) -> EventFile {
        var file = EventFile(loggedName: item.name, inode: item.inode, device: item.device, mode: item.mode)
        let name = item.name ?? RawPath(bytes: [])
        if !name.isEmpty { file.name = name.lastComponent }
        if name.isAbsolute {
            file.path = Self.canonical(absolute: name, usrMerge: usrMerge)
        } else if !name.isEmpty && (event.namesAreRelativeToWorkingDirectory
                                    || directoryArgument == nil && event.uringOperation == nil) {
            guard let cwd = event.cwd else {
                file.unresolvedReason = "relative name, and the event has no CWD record"
                return file
            }
            file.path = usrMerge.canonical(cwd.appending(name))
        } else {
            // Relative to a descriptor, or io_uring's: only the PARENT item says where.
            guard !(item.name == nil && !item.hasName) else {
                file.unresolvedReason = "the item has no name field"
                return file
            }
            let candidates = parentKeys(of: item.name, role: role, in: event, node: node)
            // Two PARENT items of the same text but different directories, in an order that
            // rests on how the kernel was compiled (system calls, order not yet learned):
            // the other reading is kept, and the rule engine weighs both.
            if event.uringOperation == nil, newNameFirst[node] == nil,
               let other = candidates.dropFirst().first(where: { $0 != candidates.first }) {
                file.alternativeDirectory = other
            }
            guard let parent = candidates.first else {
                file.unresolvedReason = "relative to \(Self.base(of: event, directoryArgument)), and the PARENT items do not say which directory"
                return file
            }
            guard let directory = directory(parent) else {
                file.unresolvedReason = "relative to \(Self.base(of: event, directoryArgument)): directory "
                    + "\(parent.device):\(parent.inode) not seen before in this stream"
                file.awaitedDirectory = parent
                return file
            }
            place(&file, in: directory)
            return file
        }
        if let spelled = file.path, let known = knownSpelling(of: spelled, item: item, role: role, in: event, node: node) {
            file.path = known
            file.spelledPath = spelled
        }
        let last = file.path!.lastComponent
        file.name = last.isEmpty ? nil : last
        return file
    }

    /// The other reading of a same-text rename (`EventFile.alternativeDirectory`), once the
    /// file is resolved: its path in the other directory, or unknown when that directory is.
    func alternative(of file: EventFile) -> RawPath?? {
        guard let other = file.alternativeDirectory, let name = file.loggedName, !name.isEmpty else { return nil }
        guard let directory = directories[other]?.path else { return .some(nil) }
        return usrMerge.canonical(directory.appending(name: name.lastComponent))
    }

    /// Completes `file`, whose directory was unknown, now that it is known: the path, or
    /// for a name the kernel did not log (io_uring), the directory alone.
    func place(_ file: inout EventFile, in directory: RawPath) {
        file.awaitedDirectory = nil
        guard let name = file.loggedName, !name.isEmpty else {
            file.directory = directory
            file.unresolvedReason = "the kernel logged no name for this item (io_uring); the directory is known"
            return
        }
        // The PARENT item names the directory holding the last component.
        let path = usrMerge.canonical(directory.appending(name: name.lastComponent))
        file.path = path
        file.unresolvedReason = nil
        let last = path.lastComponent
        file.name = last.isEmpty ? nil : last
    }

    private static func base(of event: SyscallEvent, _ directoryArgument: Int?) -> String {
        event.uringOperation != nil ? "an io_uring request's directory"
            : "directory fd \(event.directoryDescriptor(argument: directoryArgument).map(String.init) ?? "?")"
    }

    /// Identity beats spelling: when the PARENT item of `item` (spelt `spelled`) is a place,
    /// or the parent of one, known by its identity under another name, the path under
    /// that name; nil when the spelling is the known name or nothing is known.
    private mutating func knownSpelling(of spelled: RawPath, item: PathItem, role: Role, in event: SyscallEvent,
                                        node: String?) -> RawPath? {
        guard !placesAndParents.isEmpty, let parent = parentKeys(of: item.name, role: role, in: event, node: node).first,
              let known = directory(parent), placesAndParents.contains(known), spelled.directory != known
        else { return nil }
        return known.appending(name: spelled.lastComponent)
    }

    /// The path of directory `key`: from the table, else (live) from the file system.
    private mutating func directory(_ key: DirectoryKey) -> RawPath? {
        if let known = directories[key] { return known.path }
        guard key.node == nil, let lookUpDirectories else { return nil }
        statistics.fileSystemLookUps += 1
        for found in lookUpDirectories() { store(found.path, as: found.key, fromFileSystem: true) }
        return directories[key]?.path
    }

    /// The directory holding `name`: the PARENT item the kernel logged for it. Items are
    /// matched by text: the caller's text up to its last `/`; for a name without `/` the
    /// working directory; for `(null)`, `(null)`.
    /// The directories the PARENT items matching `name` identify, the one `role` takes
    /// first.
    private func parentKeys(of name: RawPath?, role: Role, in event: SyscallEvent, node: String?) -> [DirectoryKey] {
        let expected: RawPath? = name.map { $0.loggedParent ?? event.cwd ?? RawPath(bytes: []) }
        var found: [DirectoryKey] = []
        for item in event.paths where item.nameType == .parent {
            guard let key = item.directoryKey(node: node) else { continue }
            if expected?.isEmpty == true {
                // No CWD record: a name without `/` has a PARENT name without a trailing `/`.
                if let itemName = item.name?.bytes, itemName.count > 1, itemName.last == UInt8(ascii: "/") { continue }
            } else if item.name != expected {
                continue
            }
            found.append(key)
        }
        let newFirst = event.uringOperation == nil ? newNameFirst[node] ?? true : false
        return (role == .newName) == newFirst ? found : found.reversed()
    }

    /// Learns the host's PARENT order from a system-call rename whose two names have
    /// PARENT items of different texts.
    private mutating func learnOrder(from event: SyscallEvent, node: String?) {
        guard event.syscall.kind == .rename, event.uringOperation == nil,
              let old = event.paths.first(where: { $0.nameType == .delete })?.name,
              let new = event.madeItems.first?.name else { return }
        let expectedOld = old.loggedParent ?? event.cwd
        let expectedNew = new.loggedParent ?? event.cwd
        guard let expectedOld, let expectedNew, expectedOld != expectedNew,
              let oldIndex = event.paths.firstIndex(where: { $0.nameType == .parent && $0.name == expectedOld }),
              let newIndex = event.paths.firstIndex(where: { $0.nameType == .parent && $0.name == expectedNew })
        else { return }
        newNameFirst[node] = newIndex < oldIndex
    }

    // MARK: Learning

    /// Learns, moves and forgets directories from a successful event's PATH items: every
    /// item naming a directory (PARENT items always do; others by their mode) whose name
    /// is absolute or relative to the working directory. A PARENT item standing for a
    /// name without `/` is the working directory's path only when no descriptor was used.
    /// Returns each directory the event names with the path it had then (a removed or
    /// moved directory's old path), for files waiting for it.
    @discardableResult
    mutating func learn(from event: SyscallEvent, node: String?) -> [(key: DirectoryKey, path: RawPath)] {
        learnOrder(from: event, node: node)
        let relativeToCWD = event.namesAreRelativeToWorkingDirectory
        var named: [(key: DirectoryKey, path: RawPath)] = []
        for item in event.paths {
            guard item.nameType == .parent || item.isDirectory, let key = item.directoryKey(node: node),
                  let name = item.name, !name.isEmpty else { continue }
            if item.nameType == .parent, name.isAbsolute, let known = directories[key], known.spelling == name {
                named.append((key, known.path))
                continue
            }
            let cwdForm = item.nameType == .parent && (name.bytes.last != UInt8(ascii: "/") || name.bytes.count == 1)
            if cwdForm && !relativeToCWD { continue }
            var path: RawPath
            if name.isAbsolute {
                path = Self.canonical(absolute: name, usrMerge: usrMerge)
            } else if relativeToCWD, let cwd = event.cwd {
                path = usrMerge.canonical(cwd.appending(name))
            } else if item.nameType != .parent,
                      case let (role, argument) = event.role(of: item),
                      let resolved = resolve(item, role: role, directoryArgument: argument, in: event, node: node).path {
                path = resolved
            } else {
                continue
            }
            if item.nameType != .parent, case let (role, _) = event.role(of: item),
               let known = knownSpelling(of: path, item: item, role: role, in: event, node: node) {
                path = known
            }
            named.append((key, path))
            switch item.nameType {
            case .delete:
                // rmdir, or a directory replaced by a rename; a directory moved keeps its
                // inode, and its CREATE item moves it.
                let moved = event.paths.contains { $0.nameType == .create && $0.directoryKey(node: node) == key }
                if !moved { forget(key) }
                continue
            case .create:
                if let old = directories[key]?.path, old != path { move(from: old, to: path, node: node) }
            default:
                // A name seen in passing never replaces one read from the file system, nor a
                // place's name with another (a link or a bind mount can spell the same
                // directory otherwise); renames and removals above do.
                if let known = directories[key], known.fromFileSystem || places.contains(known.path) && !places.contains(path) {
                    continue
                }
            }
            store(path, as: key, fromFileSystem: false)
            if item.nameType == .parent && name.isAbsolute { directories[key]?.spelling = name }
        }
        // rmdir through a descriptor, or of a name not resolvable: still forget it.
        for item in event.paths where item.nameType == .delete && item.isDirectory {
            guard let key = item.directoryKey(node: node), !named.contains(where: { $0.key == key }),
                  !event.paths.contains(where: { $0.nameType == .create && $0.directoryKey(node: node) == key }) else { continue }
            forget(key)
        }
        return named
    }

    /// Forgets `key` and every directory below it on the same host.
    private mutating func forget(_ key: DirectoryKey) {
        guard let path = directories.removeValue(forKey: key)?.path else { return }
        countBelow(path, node: key.node, by: -1)
        guard hasKnownDirectoriesBelow(path, node: key.node) else { return }
        for (other, directory) in directories where other.node == key.node && path.isAbove(directory.path) {
            directories[other] = nil
            countBelow(directory.path, node: other.node, by: -1)
        }
    }

    /// Rewrites every directory of `node` below `old` to be below `new` (a directory was
    /// renamed).
    private mutating func move(from old: RawPath, to new: RawPath, node: String?) {
        guard hasKnownDirectoriesBelow(old, node: node) else { return }
        for (key, directory) in directories where key.node == node && old.isAbove(directory.path) {
            let moved = RawPath(bytes: new.bytes + directory.path.bytes[old.bytes.count...])
            countBelow(directory.path, node: node, by: -1)
            directories[key]?.path = moved
            countBelow(moved, node: node, by: 1)
        }
    }
}

/// How the directory table was used, for the state report.
public struct PathStatistics: Sendable {
    public init() {}
    /// Look-ups of the rule's directories on the file system (live only).
    public var fileSystemLookUps = 0
}
