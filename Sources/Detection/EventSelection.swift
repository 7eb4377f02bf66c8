import AuditReading
import FileEvents
import RuleEngine
import HostFiles

/// Which events libauparse parses when only alerts are wanted: the detector's own
/// business, and never a change to a verdict.
///
/// It is `FileEventNormalizer.interest`, plus one more reason to skip: a file event
/// that cannot be in a place the rule requires `file.path` to be in is counted and not
/// parsed. That takes every one of these:
/// - every PATH name is absolute and outside the places, compared as the path resolver
///   will resolve it (`.`, `..` and `//` removed, merged `/usr`) and without ASCII case,
///   so the test only ever errs towards parsing; not in the directory of a file the rule
///   names (`/etc` for `/etc/modules`), not a place itself (`mkdir /run/modules-load.d`),
///   not above one (a rename of `/usr/lib`);
/// - every PARENT item is a directory the resolver already knows, and knows to be
///   outside the places: the kernel identifies a directory by device and inode whatever
///   name was used, so a write through a bind mount of a place, or from another mount
///   namespace, has names outside and a place's identity, and is parsed whatever key
///   its watch has. An unknown directory is parsed once, which teaches the resolver it;
/// - no item is a directory made, moved or removed (the resolver's table follows those),
///   and no rename is skipped while the host's order of PARENT items is still to learn.
/// A relative, `(null)` or unreadable name is parsed.
struct EventSelection {
    private let usrMerge: UsrMerge
    /// Lower-case: the rule's directories with a trailing `/` (anything below counts), and
    /// the directories of the files it names (only entries directly in them count).
    private let trees: [[UInt8]]
    private let directories: [[UInt8]]
    /// Lower-case: the files the rule names (`/etc/modules`).
    private let files: Set<[UInt8]>
    /// The keys of the detector's watches.
    private let keys: Set<[UInt8]>
    /// The events selected but not yet processed, oldest first, with the directories they
    /// may teach and whether they may move one into a place; bound: the events of one of
    /// the reader's batches (256 KiB of records), on two threads (`DetectionPipeline`) those
    /// of the batches since the last hand-over (two; up to 34 with 65,536 directories known).
    private var outstanding = FIFOQueue<(id: EventStamp, directories: [DirectoryKey], movesDirectories: Bool)>()
    /// Where outstanding events are in `outstanding`, by `EventStamp.key`, counted from the
    /// first ever selected: the first of the events with that key (a copy of the same event
    /// read twice, or another host's event of the same time and serial), the others found
    /// by a pass. So an event processed costs a look-up, not a pass over those outstanding
    /// (a batch, more on two threads): most events processed (held execs, rule changes)
    /// were never selected and match none.
    private var positions: [UInt64: Int] = [:]
    private var removedCount = 0
    /// The directories of the outstanding events, with how many name each.
    private var pending: [DirectoryKey: Int] = [:]
    private var unsettled = 0

    /// An event's identity as the summary and libauparse both give it.
    struct EventStamp: Equatable {
        var seconds: Int
        var milliseconds: Int
        var serial: UInt64
        var node: String?

        /// Time and serial in one word: hashed without the host's name, which the
        /// comparison then checks.
        var key: UInt64 { serial &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: Int64(seconds &* 1000 &+ milliseconds)) }
    }

    /// Nil when the rule does not require `file.path` to match some patterns (then no
    /// event can be ruled out by its names).
    init?(rule: DetectionRule, usrMerge: UsrMerge, watchKeys: [String]) {
        guard let locations = rule.requiredLocations, !locations.isEmpty else { return nil }
        self.usrMerge = usrMerge
        keys = Set(watchKeys.map { Array($0.utf8) })
        let lowered = { (path: RawPath) in path.bytes.map(WildcardPattern.fold) }
        trees = locations.filter { $0.isDirectory }.map { location in
            lowered(location.canonicalPath(usrMerge: usrMerge)) + [UInt8(ascii: "/")]
        }
        directories = locations.filter { !$0.isDirectory }.map { location in
            lowered(location.canonicalPath(usrMerge: usrMerge).directory)
        }
        files = Set(locations.filter { !$0.isDirectory }.map { location in
            lowered(location.canonicalPath(usrMerge: usrMerge))
        })
    }

    /// Takes over what `earlier` (the selection of the rule this one replaces) has
    /// selected and not yet seen processed.
    mutating func takeOutstanding(from earlier: EventSelection) {
        (outstanding, positions, removedCount, pending, unsettled)
            = (earlier.outstanding, earlier.positions, earlier.removedCount, earlier.pending, earlier.unsettled)
    }

    /// Whether the event `summary` describes, already judged worth parsing for its system
    /// call, can be skipped. `resolver` knows the directories the events processed so far
    /// have named.
    ///
    /// The reader selects events ahead of processing them (it hands libauparse 256 KiB at
    /// a time, and libauparse holds the last event back until more input comes; on two
    /// threads, `resolver` is the processing's as of a hand-over ago), so `resolver` may
    /// not yet have learned from the events selected before this one. What they may teach
    /// is kept aside until they are processed (`selected(_:)`, `processed(_:)`).
    mutating func canSkip(_ summary: EventSummary, resolver: PathResolver) -> Bool {
        guard unsettled == 0, !summary.hasUnreadableName, !summary.pathItems.isEmpty else { return false }
        let node = summary.node.map { String(decoding: $0, as: UTF8.self) }
        // Which of a rename's PARENT items is the new name's is learned from renames
        // (`PathResolver.Role`); until then every rename teaches.
        if isSystemCallRename(summary) && !resolver.knowsRenameOrder(of: node) { return false }
        for item in summary.pathItems {
            guard let logged = item.name,
                  let canonical = PathResolver.canonicalPath(logged: logged, usrMerge: usrMerge),
                  !covers(canonical) else { return false }
            if item.isDirectory && !item.isParent { return false }
            if item.isParent {
                guard let key = item.directoryKey(node: node), pending[key] == nil, let known = resolver.path(of: key),
                      !resolver.isPlaceOrParent(known), !covers(known)
                else { return false }
            }
        }
        return true
    }

    /// Notes an event the reader will parse: the directories it may make places (or move
    /// into one) are pending until it is processed. Resolver facts: an item teaches its
    /// directory its own name, or nothing; a directory renamed moves what is below it
    /// with it. So an item named absolutely outside the places can only keep (or put) its
    /// directory, and anything moved with it, outside; only the others are pending, and a
    /// rename of a directory that may land in a place leaves every event parsed until it
    /// is processed.
    mutating func selected(_ summary: EventSummary) {
        let node = summary.node.map { String(decoding: $0, as: UTF8.self) }
        let renames = isSystemCallRename(summary)
        var moves = false
        let directories = summary.pathItems.compactMap { item -> DirectoryKey? in
            guard item.isParent || item.isDirectory else { return nil }
            if let logged = item.name, let canonical = PathResolver.canonicalPath(logged: logged, usrMerge: usrMerge),
               !covers(canonical) { return nil }
            if renames && !item.isParent { moves = true }
            return item.directoryKey(node: node)
        }
        for key in directories { pending[key, default: 0] += 1 }
        if moves { unsettled += 1 }
        let stamp = EventStamp(seconds: Int(summary.seconds), milliseconds: Int(summary.milliseconds),
                               serial: summary.serial, node: node)
        if positions[stamp.key] == nil { positions[stamp.key] = removedCount + outstanding.count }
        outstanding.append((stamp, directories, moves))
    }

    /// Notes an event processed: it, and any selected before it that libauparse never
    /// delivered, are no longer outstanding. Events it did not select (held execs) match
    /// none.
    mutating func processed(_ stamp: EventStamp) {
        guard let position = positions[stamp.key] else { return }
        let count: Int
        if outstanding.elements.dropFirst(position - removedCount).first?.id == stamp {
            count = position - removedCount + 1
        } else if let index = outstanding.elements.firstIndex(where: { $0.id == stamp }) {
            count = index - outstanding.elements.startIndex + 1
        } else {
            return
        }
        let done = outstanding.elements.prefix(count)
        for entry in done {
            if positions[entry.id.key] == removedCount { positions[entry.id.key] = nil }
            removedCount += 1
            for key in entry.directories {
                // One look-up: a directory's key hashes its host and device names.
                guard let index = pending.index(forKey: key) else { continue }
                if pending.values[index] == 1 { pending.remove(at: index) } else { pending.values[index] -= 1 }
            }
            if entry.movesDirectories { unsettled -= 1 }
        }
        outstanding.removeFirst(done.count)
    }

    /// Whether a change to existing names (no name made) may be in a place: logged for
    /// one of the detector's watch keys, or naming, absolutely or from the working
    /// directory, a path the rule covers. A relative name with no working directory logged
    /// counts. (Judged by names alone otherwise: a change through a bind mount of a place,
    /// under a foreign key, is not parsed in replay.)
    func mayChangePlace(_ summary: EventSummary) -> Bool {
        // The key as logged: quoted, or hex for several keys (joined by 0x01).
        if let logged = summary.key, let decoded = PathResolver.decodedName(logged: logged),
           decoded.bytes.split(separator: 0x01).contains(where: { keys.contains(Array($0)) }) { return true }
        var directory: RawPath??
        for item in summary.pathItems {
            guard let logged = item.name else { return true }
            if let canonical = PathResolver.canonicalPath(logged: logged, usrMerge: usrMerge) {
                if holds(canonical) { return true }
                continue
            }
            if directory == nil { directory = summary.cwd.flatMap { PathResolver.canonicalPath(logged: $0, usrMerge: usrMerge) } }
            guard let directory = directory!, let name = PathResolver.decodedName(logged: logged) else { return true }
            if holds(PathResolver.canonical(absolute: directory.appending(name), usrMerge: usrMerge)) { return true }
        }
        return false
    }

    /// Whether an existing name (canonical, any case) is one the rule covers: below a
    /// place, or a file it names. Unlike `covers`, not its directory's other files
    /// (`/etc/passwd`).
    private func holds(_ path: RawPath) -> Bool {
        let path = path.bytes
        return files.contains { $0.count == path.count && Self.sameFolded(path, $0, count: path.count) }
            || trees.contains { $0.count <= path.count && Self.sameFolded(path, $0, count: $0.count) }
    }

    private func isSystemCallRename(_ summary: EventSummary) -> Bool {
        guard summary.uringOperation == nil, let number = summary.syscall,
              let architecture = summary.architecture.flatMap(Architecture.init(rawValue:)) else { return false }
        return FileSyscall.lookup(number, architecture: architecture)?.isRename == true
    }

    /// Whether a canonical path, without ASCII case, is in, is, or is above a place.
    /// Compared in place, with no copy: every PATH item of every candidate event comes here.
    private func covers(_ path: RawPath) -> Bool {
        let path = path.bytes
        let slash = UInt8(ascii: "/")
        // Whether `lower` (lower-case) is `path` or is above it.
        func isAtOrAbove(_ lower: [UInt8]) -> Bool {
            lower.count <= path.count && Self.sameFolded(path, lower, count: lower.count)
        }
        // Whether `lower` is strictly below `path`.
        func isBelow(_ lower: [UInt8]) -> Bool {
            lower.count > path.count && lower[path.count] == slash && Self.sameFolded(path, lower, count: path.count)
        }
        // `RawPath.directory`: up to the last `/`, or `/` for a top-level name.
        let directoryLength = max(path.lastIndex(of: slash) ?? 0, 1)
        return trees.contains { isAtOrAbove($0) || isBelow($0) }
            || directories.contains { directory in
                (directory.count == path.count || directory.count == directoryLength) && isAtOrAbove(directory)
                    || isBelow(directory)
            }
    }

    /// Whether the first `count` bytes of `path`, without ASCII case, are those of `lower`.
    private static func sameFolded(_ path: [UInt8], _ lower: [UInt8], count: Int) -> Bool {
        for index in 0 ..< count where WildcardPattern.fold(path[index]) != lower[index] { return false }
        return true
    }
}

extension EventSummary.PathItem {
    /// The directory this item identifies, by the host, device and inode it was logged with.
    func directoryKey(node: String?) -> DirectoryKey? {
        guard let device, let inode else { return nil }
        return DirectoryKey(node: node, device: device, inode: inode)
    }
}
