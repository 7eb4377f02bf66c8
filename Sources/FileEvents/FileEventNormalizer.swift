import AuditReading

/// Turns audit events into file events (SPEC §2): decides creation versus rename,
/// resolves paths and the process, and keeps the state that needs (directories seen,
/// exec records).
///
/// - Creation: a successful open/openat/openat2/creat (O_TMPFILE + linkat included),
///   link/linkat, symlink/symlinkat or mknod/mknodat, one event per PATH item of
///   nametype CREATE that is not a directory.
/// - Rename: a successful rename/renameat/renameat2, one event per CREATE item (two for
///   RENAME_EXCHANGE), its source being the DELETE item with the same inode.
/// Failed calls are ignored: nothing was made.
public struct FileEventNormalizer: Sendable {
    public var paths: PathResolver
    public var processes = ProcessTable()
    public private(set) var statistics = NormalizerStatistics()

    public init(usrMerge: UsrMerge = UsrMerge(isMerged: true)) {
        paths = PathResolver(usrMerge: usrMerge)
    }

    /// What the reader does with an event, judged from its record lines before libauparse
    /// parses it (`AuditLogReader`'s selector): a successful file system call that made a
    /// new name is parsed; a successful exec is held, to be parsed only if that process
    /// later makes a file (most never do); everything else is skipped.
    public static func disposition(_ summary: EventSummary) -> EventDisposition {
        guard summary.success == true, let number = summary.syscall,
              let architecture = summary.architecture.flatMap(Architecture.init(rawValue:)),
              let syscall = FileSyscall.lookup(number, architecture: architecture) else { return .skip }
        if syscall.kind == .exec { return .hold }
        return summary.hasCreatedName ? .parse : .skip
    }

    /// Calls `emit` with each file event `event` produces (usually none or one).
    public mutating func normalize(_ event: AuditEvent, emit: (FileEvent) -> Void) {
        guard let decoded = SyscallEvent.decode(event) else { return }
        let stamp = event.timestamp
        statistics.syscallEvents += 1
        if decoded.syscall.kind == .exec {
            processes.recordExec(decoded, node: stamp.node)
            return
        }
        guard decoded.success else { return }
        let process = processes.process(of: decoded, node: stamp.node)
        let user = User(effectiveID: decoded.euid, effectiveName: decoded.names.euid,
                        realID: decoded.uid, realName: decoded.names.uid,
                        auditID: decoded.auid, auditName: decoded.names.auid, session: decoded.session)
        let facts = AuditFacts(syscall: decoded.syscall, syscallNumber: decoded.syscallNumber,
                               architecture: decoded.architecture, exe: decoded.exe, comm: decoded.comm,
                               key: decoded.key, tty: decoded.tty, exitCode: decoded.exitCode,
                               gid: decoded.gid, effectiveGID: decoded.egid, items: decoded.items)
        if let items = decoded.items, items != decoded.paths.count {
            statistics.incompleteEvents += 1
        }

        for item in decoded.paths where item.nameType == .create && !item.isDirectory {
            let action: FileEvent.Action = decoded.syscall.kind == .rename ? .rename : .creation
            // In a rename the CREATE item is always the new name; the old name and any
            // replaced target are DELETE items, the source being the one with our inode.
            let file = paths.resolve(item, directoryArgument: decoded.syscall.newNameDirectoryArgument, in: decoded)
            var original: FilePath?
            if action == .rename,
               let source = decoded.paths.first(where: { $0.nameType == .delete && $0.inode == item.inode && $0.device == item.device }) {
                original = paths.resolve(source, directoryArgument: decoded.syscall.oldNameDirectoryArgument, in: decoded)
            }
            if file.path == nil { statistics.unresolvedPaths += 1 }
            statistics.fileEvents += 1
            emit(FileEvent(action: action, file: file, original: original, process: process, user: user,
                           audit: facts, seconds: stamp.seconds, milliseconds: stamp.milliseconds,
                           serial: stamp.serial, node: stamp.node))
        }
    }
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
}
