import AuditReading
import HostFiles

/// A file event with Elastic Defend's field meanings (ECS names in comments), made from
/// one audit event. Paths are `RawPath`s and other strings bytes: neither need be UTF-8.
public struct FileEvent: Sendable {
    public enum Action: String, Sendable {
        case creation
        case rename
        /// A place the rule covers replaced wholesale: a directory renamed over or into it,
        /// or a symbolic link made in its name. `file` is the place, `original` what
        /// replaced it (the source directory, the link's target). Never a rule candidate:
        /// audisp-lkm's own rule decides it.
        case directoryReplacement = "directory-replacement"
        /// Changes to existing names (`reportsChanges`): an existing file opened for
        /// writing or truncated; a name removed; a change of mode, owner, extended
        /// attributes or times. Never candidates of the rule (a modification is
        /// `ModificationRule`'s).
        case modification, deletion, attributes

        /// Whether it changed an existing name rather than making one.
        public var isChange: Bool { self == .modification || self == .deletion || self == .attributes }
    }

    /// `event.action`.
    public var action: Action
    /// `file.*`: the new name.
    public var file: EventFile
    /// `file.Ext.original.*`: a rename's source; nil for creations and for renames whose
    /// source item could not be paired by inode.
    public var original: EventFile?
    public var process: ProcessIdentity
    public var user: User
    public var audit: AuditFacts

    /// `@timestamp` and the event's identity (`event.id` is `SECONDS.MILLI:SERIAL`).
    public var seconds: Int
    public var milliseconds: Int
    public var serial: UInt64
    /// `host.name`: the `node=` name, when the record had one.
    public var node: String?
    /// Live, for a change to an existing file: its SHA-256 before (the baseline's) and
    /// after (read from the disk); nil offline.
    public var contentDigests: ContentDigests?

    /// Whether a field the rule may test is unknown (not missing): the name io_uring did
    /// not log, a directory never named on a watched route, a program no record names.
    public var hasUnknownFields: Bool {
        file.isUnknown || original?.isUnknown == true || process.executableUnknown
    }

    /// `@timestamp` in seconds since the epoch.
    public var time: Double { Double(seconds) + Double(milliseconds) / 1000 }

    /// `SECONDS.MILLI:SERIAL`, the event's id within its node.
    public var eventID: String {
        var text: [UInt8] = []
        appendEventID(to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// Appends `eventID`'s text to `output`.
    public func appendEventID(to output: inout [UInt8]) {
        Self.appendEventID(seconds: seconds, milliseconds: milliseconds, serial: serial, to: &output)
    }

    public static func appendEventID(seconds: Int, milliseconds: Int, serial: UInt64, to output: inout [UInt8]) {
        if seconds < 0 { output.append(UInt8(ascii: "-")) }
        output.appendDecimal(UInt64(seconds.magnitude))
        output.append(UInt8(ascii: "."))
        if milliseconds < 100 { output.append(UInt8(ascii: "0")) }
        if milliseconds < 10 { output.append(UInt8(ascii: "0")) }
        output.appendDecimal(UInt64(milliseconds))
        output.append(UInt8(ascii: ":"))
        output.appendDecimal(serial)
    }
}

/// A name in the file system, resolved to its canonical absolute path when possible.
public struct EventFile: Sendable, Equatable {
    /// `file.path`: canonical and absolute; nil when the path cannot be resolved.
    public var path: RawPath?
    /// `file.name`: the last component (known even when the directory is not).
    public var name: [UInt8]? {
        didSet { fileExtension = name.flatMap(Self.fileExtension(of:)) }
    }
    /// `file.extension`, kept with the name so that rules read it without copying.
    public private(set) var fileExtension: [UInt8]?
    /// Why `path` is nil; nil when it is resolved.
    public var unresolvedReason: String?
    /// When only the name is unknown (io_uring logs none): the canonical directory the
    /// PARENT item identifies. The rule decides what it can from it.
    public var directory: RawPath?
    /// The path had the kernel logged a rename's two same-text PARENT items in the other
    /// order (two descriptors, names without `/`): which is which rests on how the kernel
    /// was compiled, so the rule weighs both. `hasAlternative` with no `alternativePath`:
    /// the other reading's directory is unknown.
    public var alternativePath: RawPath?
    public var hasAlternative = false
    /// The other reading's directory, until the file event leaves the normaliser.
    var alternativeDirectory: DirectoryKey?
    /// Live: the kernel logged no name and `path` was found from the inode at once.
    public var nameRecovered = false
    /// Live: the kernel logged no name, and several entries of the directory have the
    /// file's inode (links made since): the paths it may have been made under.
    public var candidatePaths: [RawPath] = []
    /// Unresolved, and the kernel logged the event for one of the detector's own watches:
    /// the file is in (or beside) a place the rule covers, which one is unknown.
    public var watchedButUnknown = false
    /// The directory whose path alone is missing (replay waits for the stream to name it).
    var awaitedDirectory: DirectoryKey?
    /// The name exactly as the kernel logged it (decoded from hex when it was hex).
    public var loggedName: RawPath?
    /// The path as the process spelt it, when its directory is a place the rule covers
    /// seen under another name (a bind mount, a chroot, a container's view): `path` is
    /// then the place's canonical path.
    public var spelledPath: RawPath?
    /// `file.inode`, `file.device` (major:minor as logged), `file.mode`.
    public var inode: UInt64?
    public var device: String?
    public var mode: UInt32?

    /// The other reading of a same-text rename in place of this one (an unknown path
    /// when its directory is unknown).
    public mutating func swapAlternative() {
        guard hasAlternative else { return }
        let other = alternativePath
        alternativePath = path
        path = other
        if let other {
            let last = other.lastComponent
            name = last.isEmpty ? nil : last
        } else {
            directory = nil
            watchedButUnknown = true
        }
    }

    /// Whether the path exists but is not known: `directory` or `watchedButUnknown` say
    /// what is.
    public var isUnknown: Bool { path == nil && (directory != nil || watchedButUnknown) }

    /// ECS `file.extension`: the text after the last `.` of the name; none when there is
    /// no `.`, when the only `.` starts the name (a dot file), or when the name ends in `.`.
    static func fileExtension(of name: [UInt8]) -> [UInt8]? {
        guard let last = name.lastIndex(of: UInt8(ascii: ".")), last > 0, last < name.count - 1 else { return nil }
        return Array(name[(last + 1)...])
    }

    public init(path: RawPath? = nil, name: [UInt8]? = nil, unresolvedReason: String? = nil, loggedName: RawPath? = nil,
                inode: UInt64? = nil, device: String? = nil, mode: UInt32? = nil) {
        self.path = path
        self.name = name
        self.fileExtension = name.flatMap(Self.fileExtension(of:))
        self.unresolvedReason = unresolvedReason
        self.loggedName = loggedName
        self.inode = inode
        self.device = device
        self.mode = mode
    }
}

/// `process.*`.
public struct ProcessIdentity: Sendable {
    /// `process.executable`: the program as invoked (for a `#!` script, the script).
    /// nil when the kernel logged none (`exe="(null)"`, kernel threads).
    public var executable: RawPath? {
        didSet { name = executable?.lastComponent }
    }
    /// `process.name`: the basename of `executable` (never the 15-byte `comm`), kept with
    /// it so that rules read it without copying.
    public private(set) var name: [UInt8]?
    /// Where `executable` came from.
    public var executableSource: ExecutableSource
    /// io_uring work whose program no record names: a user process made the file (it is
    /// not a kernel thread's `(null)`), and which one is unknown.
    public var executableUnknown = false
    public var pid: Int?
    /// `process.parent.pid`.
    public var parentPID: Int?
    /// `process.parent.executable`: from the parent's exec record earlier in the stream.
    public var parentExecutable: RawPath?
    /// `process.working_directory`.
    public var workingDirectory: RawPath?
    /// `process.args`: from the exec record when used, else the decoded PROCTITLE.
    public var args: [[UInt8]]

    public init(executable: RawPath?, executableSource: ExecutableSource, pid: Int?, parentPID: Int?,
                workingDirectory: RawPath?, args: [[UInt8]]) {
        self.executable = executable
        self.name = executable?.lastComponent
        self.executableSource = executableSource
        self.pid = pid
        self.parentPID = parentPID
        self.workingDirectory = workingDirectory
        self.args = args
    }
}

/// How `process.executable` was found: an exec record of the same pid earlier
/// in the stream, the script named in PROCTITLE when `exe` is an interpreter, or `exe`;
/// for io_uring operations also the ring's `io_uring_setup` record or `/proc`.
public enum ExecutableSource: String, Sendable {
    case execRecord = "exec"
    case scriptArgument = "proctitle"
    case syscallExe = "exe"
    /// The `exe` of the process's `io_uring_setup` call (io_uring operations log none).
    case ringSetup = "io_uring_setup"
    case none
}

/// `user.*` and the audit (login) user.
public struct User: Sendable {
    /// `user.id`: the effective uid, as Elastic Defend reports it.
    public var effectiveID: UInt64?
    public var effectiveName: String?
    /// `user.Ext.real.id`.
    public var realID: UInt64?
    public var realName: String?
    /// The login uid (`auid`): who logged in, whatever they became since.
    public var auditID: UInt64?
    public var auditName: String?
    /// The audit session (`ses`).
    public var session: UInt64?
}

/// `auditd.*`: the raw facts the event was made from.
public struct AuditFacts: Sendable {
    /// The system call, or for io_uring the call the operation stands for.
    public var syscall: FileSyscall
    /// The system call number, or for io_uring the operation number (`uring_op`).
    public var syscallNumber: UInt64
    /// nil for io_uring operations (the URINGOP record has no `arch=`).
    public var architecture: Architecture?
    /// `auditd.uring_op`: set when the kernel logged the operation as io_uring work.
    public var uringOperation: UInt64?
    /// The SYSCALL record's `exe=` (the resolved image: the interpreter for scripts).
    public var exe: RawPath?
    public var comm: [UInt8]?
    public var key: [UInt8]?
    public var tty: String?
    public var exitCode: Int64?
    public var gid: UInt64?
    public var effectiveGID: UInt64?
    public var items: Int?
}

/// A file's content digests (SHA-256) before and after a change; nil where not known.
public struct ContentDigests: Sendable, Equatable {
    public var before: [UInt8]?
    public var after: [UInt8]?

    public init(before: [UInt8]?, after: [UInt8]?) {
        self.before = before
        self.after = after
    }
}
