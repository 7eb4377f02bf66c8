import AuditReading
import HostFiles

/// Turns audit events into file events (docs/design.md, "Creation versus rename"): decides creation versus rename,
/// resolves paths and the process, and keeps the state that needs (directories seen,
/// exec records).
///
/// - Creation: a successful open/openat/openat2/creat (O_TMPFILE + linkat included),
///   link/linkat, symlink/symlinkat or mknod/mknodat, one event per PATH item of
///   nametype CREATE that is not a directory.
/// - Rename: a successful rename/renameat/renameat2, one event per CREATE item (two for
///   RENAME_EXCHANGE), its source being the DELETE item with the same inode.
/// Failed calls are ignored: nothing was made. io_uring operations (URINGOP records)
/// count as the system calls they stand for.
///
/// With `reportsChanges` (the compliance report), changes to existing names are file
/// events too, never rule candidates: a modification (an existing file opened for
/// writing or truncating, `truncate`), a deletion (`unlink`, `unlinkat` of a non-directory)
/// and an attribute change (the chmod, chown, xattr and utime families), one per NORMAL or
/// DELETE item. Changes through a descriptor alone (`fchmod`, `ftruncate`, `write`) name no
/// path, so no watch sees them; the `open` that gave the descriptor is the modification.
public struct FileEventNormalizer: Sendable {
    public var paths: PathResolver
    public var processes = ProcessTable()
    /// Live only: the names of the entries with this inode in this directory, read from
    /// the file system at once (io_uring logs no names).
    public var recoverNames: (@Sendable (_ directory: RawPath, _ inode: UInt64) -> [[UInt8]])?
    /// The keys of the detector's own watches: an unresolved file in an event logged for
    /// one of them is in a place the rule covers, so it is unknown, not missing.
    public var watchKeys: Set<[UInt8]> = [Array("audisp-lkm".utf8)]
    /// Whether a file event whose directory is not yet known waits (replay) until the
    /// stream names that directory, or leaves at once, unresolved (live: the plugin asks
    /// the file system instead, and an alert must not wait).
    public var waitsForDirectories = true
    /// Whether modifications, deletions and attribute changes are file events too.
    public var reportsChanges = false
    /// File events waiting for a directory, by that directory; the oldest leaves
    /// unresolved beyond `waitingCapacity`.
    private var waiting = WaitingEvents(capacity: waitingCapacity)
    public static let waitingCapacity = 4096
    public private(set) var statistics = NormalizerStatistics()

    public init(usrMerge: UsrMerge = UsrMerge(isMerged: true)) {
        paths = PathResolver(usrMerge: usrMerge)
    }

    /// What an event is to the normaliser, judged from its record lines before libauparse
    /// parses it.
    public enum Interest: Sendable {
        /// Nothing: a failed call, or one that neither makes, moves nor changes a name.
        case none
        /// A successful exec: held, to be parsed only if that process later makes a file
        /// (most never do).
        case exec
        /// A successful file system call or io_uring operation that made a new name, a
        /// directory change (its identities teach the path resolver), a mount, a ring
        /// set-up, or a change to the audit rules.
        case file
        /// A call that changes existing names only (opened for writing, truncated,
        /// attributes, unlinked): a file event only for a normaliser that `reportsChanges`.
        case change

        /// What the reader does with such an event (`AuditLogReader`'s selector); with
        /// `changes`, changes to existing names are parsed too.
        public func disposition(changes: Bool) -> EventDisposition {
            switch self {
            case .none: .skip
            case .exec: .hold
            case .file: .parse
            case .change: changes ? .parse : .skip
            }
        }
    }

    /// What the event `summary` describes is to the normaliser.
    public static func interest(_ summary: EventSummary) -> Interest {
        if summary.isConfigChange { return .file }
        guard summary.success == true else { return .none }
        let syscall: FileSyscall?
        if let operation = summary.uringOperation {
            syscall = FileSyscall.lookup(uringOperation: operation)
        } else if let number = summary.syscall, let architecture = summary.architecture.flatMap(Architecture.init(rawValue:)) {
            syscall = FileSyscall.lookup(number, architecture: architecture)
        } else {
            syscall = nil
        }
        switch syscall?.kind {
        case nil: return .none
        case .exec: return .exec
        case .ringSetup, .mount: return .file
        case .directory: return summary.hasCreatedName || summary.hasDeletedName ? .file : .none
        case .open: return summary.hasCreatedName ? .file : .change
        case .otherCreation, .rename: return summary.hasCreatedName ? .file : .none
        case .truncate, .attributes: return .change
        case .unlink: return summary.hasDeletedName ? .change : .none
        }
    }

    /// Calls `emit` with each file event `event` produces (usually none or one).
    public mutating func normalize(_ event: AuditEvent, emit: (FileEvent) -> Void) {
        guard let decoded = SyscallEvent.decode(event) else { return }
        let stamp = event.timestamp
        statistics.syscallEvents += 1
        switch decoded.syscall.kind {
        case .exec:
            processes.recordExec(decoded, node: stamp.node)
            return
        case .ringSetup:
            processes.recordRingSetup(decoded, node: stamp.node)
            return
        case .directory, .open, .otherCreation, .rename, .mount, .truncate, .unlink, .attributes:
            break
        }
        guard decoded.success else { return }
        if decoded.uringOperation != nil { statistics.uringEvents += 1 }
        let named = paths.learn(from: decoded, node: stamp.node)
        if !waiting.isEmpty && !named.isEmpty { release(named, emit: emit) }
        let changes = reportsChanges ? changedItems(of: decoded) : []
        if decoded.syscall.kind == .directory && changes.isEmpty { return }
        let process = processes.process(of: decoded, node: stamp.node)
        let user = User(effectiveID: decoded.euid, effectiveName: decoded.names.euid,
                        realID: decoded.uid, realName: decoded.names.uid,
                        auditID: decoded.auid, auditName: decoded.names.auid, session: decoded.session)
        let facts = AuditFacts(syscall: decoded.syscall, syscallNumber: decoded.syscallNumber,
                               architecture: decoded.architecture, uringOperation: decoded.uringOperation,
                               exe: decoded.exe, comm: decoded.comm,
                               key: decoded.key, tty: decoded.tty, exitCode: decoded.exitCode,
                               gid: decoded.gid, effectiveGID: decoded.egid, items: decoded.items)
        if let items = decoded.items, items != decoded.paths.count {
            statistics.incompleteEvents += 1
        }

        func fileEvent(_ action: FileEvent.Action, _ file: EventFile, _ original: EventFile?) -> FileEvent {
            FileEvent(action: action, file: file, original: original, process: process, user: user, audit: facts,
                      seconds: stamp.seconds, milliseconds: stamp.milliseconds, serial: stamp.serial, node: stamp.node)
        }
        for (action, item) in changes {
            let (role, argument) = decoded.role(of: item)
            send(fileEvent(action, paths.resolve(item, role: role, directoryArgument: argument, in: decoded, node: stamp.node), nil),
                 emit: emit)
        }
        if decoded.syscall.kind == .directory { return }
        if decoded.syscall == .mount || decoded.syscall == .moveMount {
            if let (place, source) = mountedOver(in: decoded, node: stamp.node) {
                statistics.directoryReplacements += 1
                send(fileEvent(.directoryReplacement, place, source), emit: emit)
            }
            return
        }
        // A place replaced wholesale (`paths.places`): anything renamed to its name (a
        // directory over it or into it when it was missing, a link swapped in with
        // RENAME_EXCHANGE), or a symbolic link made there.
        let replacing = !paths.places.isEmpty
            && (decoded.syscall.kind == .rename || decoded.syscall == .symlink || decoded.syscall == .symlinkat)
        for item in decoded.madeItems {
            // A rename's CREATE item is the name made (the new one, or for an exchange's
            // second item the old one); its source is the DELETE item with its inode.
            let (role, argument) = decoded.role(of: item)
            var file = paths.resolve(item, role: role, directoryArgument: argument, in: decoded, node: stamp.node)
            let original = decoded.syscall.kind == .rename ? source(of: item, in: decoded, node: stamp.node) : nil
            if replacing, let path = file.path, paths.places.contains(path) {
                statistics.directoryReplacements += 1
                send(fileEvent(.directoryReplacement, file, original ?? linkTarget(in: decoded, at: path)), emit: emit)
            }
            guard !item.isDirectory else { continue }
            if file.path == nil, let directory = file.directory, let inode = item.inode, stamp.node == nil,
               let names = recoverNames?(directory, inode), !names.isEmpty {
                // Live: the name io_uring did not log, found by inode in its directory. A
                // hard link's file has several names, but one entry here is the one made;
                // several here (links made since) are listed, and the name stays unknown.
                if names.count == 1 {
                    file.path = usrMerge.canonical(directory.appending(name: names[0]))
                    file.name = names[0]
                    file.unresolvedReason = nil
                    file.directory = nil
                    file.nameRecovered = true
                } else {
                    file.candidatePaths = names.map { usrMerge.canonical(directory.appending(name: $0)) }
                }
            }
            if process.executable == nil && decoded.uringOperation != nil { statistics.uringEventsWithoutProcess += 1 }
            let event = fileEvent(decoded.syscall.kind == .rename ? .rename : .creation, file, original)
            if waitsForDirectories && (file.awaitedDirectory != nil || original?.awaitedDirectory != nil) {
                if let evicted = waiting.add(event) { send(evicted, emit: emit) }
            } else {
                send(event, emit: emit)
            }
        }
    }

    /// The items of a change to existing names, with what each underwent: the removed
    /// non-directories of an unlink, the file opened for writing or truncating (by its
    /// flags; `openat2` keeps them in a structure the record does not show, so it counts
    /// when logged for one of `watchKeys`, whose `perm=w` passes only writes), the file
    /// truncated or whose attributes changed. io_uring opens are not judged: the
    /// operation's flags are not logged and its watches pass reads too.
    private func changedItems(of event: SyscallEvent) -> [(FileEvent.Action, PathItem)] {
        let files = event.paths.filter { !$0.isDirectory }
        switch event.syscall.kind {
        case .unlink, .directory:
            return files.filter { $0.nameType == .delete }.map { (.deletion, $0) }
        case .truncate:
            return files.filter { $0.nameType == .normal }.map { (.modification, $0) }
        case .attributes:
            return files.filter { $0.nameType == .normal }.map { (.attributes, $0) }
        case .open:
            guard event.madeItems.isEmpty, event.uringOperation == nil, opensForWriting(event) else { return [] }
            return files.filter { $0.nameType == .normal }.map { (.modification, $0) }
        case .otherCreation, .rename, .exec, .ringSetup, .mount:
            return []
        }
    }

    /// Whether an open call asked for write access or truncation (`O_WRONLY`, `O_RDWR`,
    /// `O_TRUNC`: the same bits on every table understood).
    private func opensForWriting(_ event: SyscallEvent) -> Bool {
        let flags: UInt64?
        switch event.syscall {
        case .creat: return true
        case .open: flags = event.arguments[1]
        case .openat: flags = event.arguments[2]
        case .openat2: return event.key.map(watchKeys.contains) ?? false
        default: return false
        }
        guard let flags else { return false }
        return flags & 0o3 != 0 || flags & 0o1000 != 0
    }

    /// A rename's source of `item`: the DELETE item with its inode, resolved.
    private mutating func source(of item: PathItem, in event: SyscallEvent, node: String?) -> EventFile? {
        guard let source = event.paths.first(where: { $0.nameType == .delete && $0.inode == item.inode && $0.device == item.device })
        else { return nil }
        let (role, argument) = event.role(of: source)
        return paths.resolve(source, role: role, directoryArgument: argument, in: event, node: node)
    }

    /// A symbolic link's target, as written (the UNKNOWN item): relative to the link's own
    /// directory, the link being at `path`.
    private func linkTarget(in event: SyscallEvent, at path: RawPath) -> EventFile? {
        guard let target = event.paths.first(where: { $0.nameType == .unknown })?.name else { return nil }
        let absolute = target.isAbsolute ? target : path.directory.appending(target)
        return EventFile(path: absolute.normalized, name: absolute.lastComponent, loggedName: target)
    }

    /// A mount over a place: the place, and the mounted tree that replaced it. Kernel fact
    /// (6.18): `mount(2)` logs its target, then its source, as NORMAL items; `move_mount`
    /// looks up its source path, then its target. Only the target matters: a place bound
    /// elsewhere is the place seen under another name, not replaced.
    private mutating func mountedOver(in event: SyscallEvent, node: String?) -> (place: EventFile, source: EventFile?)? {
        guard !paths.places.isEmpty else { return nil }
        var named = event.paths.filter { $0.nameType == .normal }.map { item in
            paths.resolve(item, role: .newName, directoryArgument: nil, in: event, node: node)
        }
        if event.syscall == .moveMount { named.reverse() }
        guard let target = named.first, target.path.map(paths.places.contains) == true else { return nil }
        return (target, named.dropFirst().first)
    }

    /// Emits the waiting file events whose directories `named` names, with their paths.
    private mutating func release(_ named: [(key: DirectoryKey, path: RawPath)], emit: (FileEvent) -> Void) {
        let resolver = paths
        for event in waiting.release(named, place: { resolver.place(&$0, in: $1) }) {
            statistics.resolvedLater += 1
            send(event, emit: emit)
        }
    }

    /// Emits the file events still waiting, unresolved: the stream never named their
    /// directories (end of input).
    public mutating func finish(emit: (FileEvent) -> Void) {
        for event in waiting.removeAll() { send(event, emit: emit) }
    }

    private mutating func send(_ event: FileEvent, emit: (FileEvent) -> Void) {
        var event = event
        if event.file.path != nil, let other = paths.alternative(of: event.file) {
            (event.file.hasAlternative, event.file.alternativePath) = (true, other)
        }
        if event.original?.path != nil, let original = event.original, let other = paths.alternative(of: original) {
            (event.original!.hasAlternative, event.original!.alternativePath) = (true, other)
        }
        if event.file.path == nil { statistics.unresolvedPaths += 1 }
        if let key = event.audit.key, watchKeys.contains(key) {
            if event.file.path == nil && event.file.directory == nil { event.file.watchedButUnknown = true }
            if let original = event.original, original.path == nil, original.directory == nil {
                event.original?.watchedButUnknown = true
            }
        }
        statistics.fileEvents += 1
        emit(event)
    }

    private var usrMerge: UsrMerge { paths.usrMerge }
}

/// What the normaliser saw, for the end-of-run summary.
public struct NormalizerStatistics: Sendable {
    public init() {}
    /// Events whose system call is one of the file or exec calls understood.
    public var syscallEvents = 0
    public var fileEvents = 0
    /// File events whose `file.path` could not be resolved.
    public var unresolvedPaths = 0
    /// Events with fewer or more PATH records than their `items=` count (split or damaged).
    public var incompleteEvents = 0
    /// Successful io_uring operations that made, moved or removed a name.
    public var uringEvents = 0
    /// io_uring file events whose program nothing named (no exec, ring or /proc record).
    public var uringEventsWithoutProcess = 0
    /// Places the rule covers replaced wholesale (`FileEvent.Action.directoryReplacement`).
    public var directoryReplacements = 0
    /// File events that waited for the stream to name their directory and were resolved
    /// when it did.
    public var resolvedLater = 0
}
