import AuditReading
import HostFiles

/// The records of one system call event that matter for file events, decoded. An
/// io_uring operation (URINGOP record) decodes to the system call it performs, with no
/// architecture, arguments, `exe`, `comm` or PROCTITLE: the kernel logs none.
struct SyscallEvent {
    var architecture: Architecture?
    var syscall: FileSyscall
    var syscallNumber: UInt64
    /// `uring_op=` for an io_uring operation; nil for a system call.
    var uringOperation: UInt64?
    var success = false
    var exitCode: Int64?
    var arguments: [UInt64?] = [nil, nil, nil, nil]
    var items: Int?
    var pid: Int?
    var parentPID: Int?
    var uid: UInt64?
    var euid: UInt64?
    var auid: UInt64?
    var gid: UInt64?
    var egid: UInt64?
    var session: UInt64?
    var tty: String?
    var comm: [UInt8]?
    var exe: RawPath?
    var key: [UInt8]?
    var names = EnrichedNames()

    var cwd: RawPath?
    var paths: [PathItem] = []
    var proctitle: [[UInt8]] = []
    var execArguments: [[UInt8]] = []

    /// The directory fd in argument `index`, or nil for AT_FDCWD (-100, logged as
    /// `ffffff9c` by 32-bit and `ffffffffffffff9c` by 64-bit tasks).
    func directoryDescriptor(argument index: Int?) -> UInt64? {
        guard let index, let value = arguments[index] else { return nil }
        return value == 0xFFFF_FF9C || value == 0xFFFF_FFFF_FFFF_FF9C ? nil : value
    }

    /// Whether every relative name in the event is relative to the working directory:
    /// no directory descriptor among the arguments. Unknown, so false, for io_uring,
    /// whose requests are not logged.
    var namesAreRelativeToWorkingDirectory: Bool {
        guard uringOperation == nil else { return false }
        return directoryDescriptor(argument: syscall.newNameDirectoryArgument) == nil
            && directoryDescriptor(argument: syscall.oldNameDirectoryArgument) == nil
    }

    /// The CREATE items that stand for names made: io_uring logs each CREATE item twice,
    /// once without an inode (and only that one when the operation failed).
    var madeItems: [PathItem] {
        paths.filter { $0.nameType == .create && ($0.inode != nil || uringOperation == nil) }
    }

    /// Which name of the call a CREATE or DELETE item is, and the argument holding the
    /// directory fd that name is relative to. Kernel fact: in a rename the DELETE items
    /// come old name first (then a replaced target, or for RENAME_EXCHANGE the other
    /// file, at the new name) and the CREATE items new name first (then, for an
    /// exchange, the old name, which now holds the other file).
    func role(of item: PathItem) -> (role: PathResolver.Role, directoryArgument: Int?) {
        var role = PathResolver.Role.newName
        if item.nameType == .delete { role = .oldName }
        if syscall.kind == .rename {
            let peers = item.nameType == .create ? madeItems : paths.filter { $0.nameType == .delete }
            if let position = peers.firstIndex(where: { $0.index == item.index && $0.inode == item.inode }), position > 0 {
                role = role == .newName ? .oldName : .newName
            }
        }
        return (role, role == .newName ? syscall.newNameDirectoryArgument : syscall.oldNameDirectoryArgument)
    }

    /// Decodes `event` when it is a system call this module understands; nil otherwise.
    /// Gives up at the SYSCALL record when the call is of no interest, so unrelated
    /// events cost one record's fields.
    static func decode(_ event: AuditEvent) -> SyscallEvent? {
        var decoded: SyscallEvent?
        var early = Early()
        event.forEachRecord { record in
            switch record.type {
            case .syscall:
                guard let syscall = decodeSyscall(record) else { return false }
                decoded = syscall
            case .uringOperation:
                guard let operation = decodeURingOperation(record) else { return false }
                decoded = operation
            case .cwd:
                record.forEachTextField { name, value in
                    if name.equals("cwd") { early.cwd = AuditValue.decode(value).map(RawPath.init(bytes:)) }
                }
            case .path:
                if let item = PathItem(record) { early.paths.append(item) }
            case .proctitle:
                record.forEachTextField { name, value in
                    if name.equals("proctitle"), let arguments = AuditValue.arguments(ofProctitle: value) {
                        early.proctitle = arguments
                    }
                }
            case .execve:
                early.execArguments.decode(record)
            default:
                break
            }
            return true
        }
        guard var result = decoded else { return nil }
        result.cwd = early.cwd
        result.paths = early.paths
        result.proctitle = early.proctitle
        result.execArguments = early.execArguments.arguments
        return result
    }

    /// Records other than SYSCALL, gathered whatever order they come in.
    private struct Early {
        var cwd: RawPath?
        var paths: [PathItem] = []
        var proctitle: [[UInt8]] = []
        var execArguments = ExecArguments()
    }

    private static func decodeSyscall(_ record: AuditRecord) -> SyscallEvent? {
        var architecture: Architecture?
        var number: UInt64?
        // Filled in place once arch and syscall say the call is of interest (an optional
        // would be copied whole for every field).
        var event = SyscallEvent(architecture: nil, syscall: .open, syscallNumber: 0)
        var decided = false
        var rejected = false
        record.forEachTextField { name, value in
            guard !rejected else { return }
            guard decided else {
                // arch and syscall come first; decide before decoding anything else.
                if name.equals("arch") {
                    architecture = AuditValue.hexadecimal(value).flatMap(Architecture.init(rawValue:))
                    if architecture == nil { rejected = true }
                } else if name.equals("syscall") {
                    number = AuditValue.decimal(value)
                }
                if let architecture, let number {
                    guard let syscall = FileSyscall.lookup(number, architecture: architecture) else {
                        rejected = true
                        return
                    }
                    (event.architecture, event.syscall, event.syscallNumber, decided) = (architecture, syscall, number, true)
                }
                return
            }
            event.take(name, value)
        }
        guard !rejected, decided else { return nil }
        if let enrichment = record.enrichment { event.names = EnrichedNames(enrichment) }
        return event
    }

    /// `uring_op=N success=... exit=... items=... ppid=... pid=... uid=...`: the first
    /// field (after a `node=` prefix) says whether the operation is one of interest.
    private static func decodeURingOperation(_ record: AuditRecord) -> SyscallEvent? {
        var event = SyscallEvent(architecture: nil, syscall: .open, syscallNumber: 0)
        var decided = false
        var rejected = false
        record.forEachTextField { name, value in
            guard !rejected else { return }
            guard decided else {
                if name.equals("node") { return }
                guard name.equals("uring_op"), let number = AuditValue.decimal(value),
                      let syscall = FileSyscall.lookup(uringOperation: number) else {
                    rejected = true
                    return
                }
                (event.syscall, event.syscallNumber, event.uringOperation, decided) = (syscall, number, number, true)
                return
            }
            event.take(name, value)
        }
        guard !rejected, decided else { return nil }
        if let enrichment = record.enrichment { event.names = EnrichedNames(enrichment) }
        return event
    }

    private mutating func take(_ name: FieldText, _ value: FieldText) {
        let bytes = name.bytes
        guard let first = bytes.first else { return }
        switch first {
        case UInt8(ascii: "a"):
            if bytes.count == 2, (48...51).contains(bytes[1]) {
                arguments[Int(bytes[1] - 48)] = AuditValue.hexadecimal(value)
            } else if name.equals("auid") {
                auid = AuditValue.decimal(value)
            }
        case UInt8(ascii: "s"):
            if name.equals("success") { success = value.equals("yes") }
            else if name.equals("ses") { session = AuditValue.decimal(value) }
        case UInt8(ascii: "e"):
            if name.equals("exit") { exitCode = AuditValue.signedDecimal(value) }
            else if name.equals("exe") { exe = AuditValue.decode(value).map(RawPath.init(bytes:)) }
            else if name.equals("euid") { euid = AuditValue.decimal(value) }
            else if name.equals("egid") { egid = AuditValue.decimal(value) }
        case UInt8(ascii: "p"):
            if name.equals("pid") { pid = AuditValue.decimal(value).map { Int($0) } }
            else if name.equals("ppid") { parentPID = AuditValue.decimal(value).map { Int($0) } }
        case UInt8(ascii: "u"):
            if name.equals("uid") { uid = AuditValue.decimal(value) }
        case UInt8(ascii: "g"):
            if name.equals("gid") { gid = AuditValue.decimal(value) }
        case UInt8(ascii: "i"):
            if name.equals("items") { items = AuditValue.decimal(value).map { Int($0) } }
        case UInt8(ascii: "t"):
            if name.equals("tty") { tty = value.string }
        case UInt8(ascii: "c"):
            if name.equals("comm") { comm = AuditValue.decode(value) }
        case UInt8(ascii: "k"):
            // libauparse splits a multi-key value into several `key` fields; keep the first.
            if name.equals("key"), key == nil { key = AuditValue.decode(value) }
        default:
            break
        }
    }
}

/// One PATH record.
struct PathItem {
    enum NameType: Equatable {
        case normal, parent, create, delete, unknown, other
    }

    var index: Int?
    /// The name as passed by the caller; nil for `(null)`.
    var name: RawPath?
    var hasName = false
    var inode: UInt64?
    var device: String?
    var mode: UInt32?
    var nameType: NameType = .other

    init?(_ record: AuditRecord) {
        record.forEachTextField { field, value in
            if field.equals("item") { index = AuditValue.decimal(value).map { Int($0) } }
            else if field.equals("name") { name = AuditValue.decode(value).map(RawPath.init(bytes:)); hasName = true }
            else if field.equals("inode") { inode = AuditValue.decimal(value) }
            else if field.equals("dev") { device = value.string }
            else if field.equals("mode") { mode = AuditValue.octal(value) }
            // Kernels before 3.x wrote objtype= where newer ones write nametype=.
            else if field.equals("nametype") || field.equals("objtype") {
                nameType = value.equals("NORMAL") ? .normal : value.equals("PARENT") ? .parent
                    : value.equals("CREATE") ? .create : value.equals("DELETE") ? .delete
                    : value.equals("UNKNOWN") ? .unknown : .other
            }
        }
    }

    /// Whether the inode is a directory (`S_IFDIR`).
    var isDirectory: Bool { mode.map { $0 & 0o170000 == 0o040000 } ?? false }

    /// The directory this item identifies on host `node`, when it has an inode.
    func directoryKey(node: String?) -> DirectoryKey? {
        guard let inode, let device else { return nil }
        return DirectoryKey(node: node, device: device, inode: inode)
    }
}

/// `argc=N a0=... a1=...`, possibly spread over several EXECVE records, with long
/// arguments split into `aN_len=` plus `aN[0]=`, `aN[1]=`... hex chunks.
struct ExecArguments {
    private(set) var arguments: [[UInt8]] = []

    mutating func decode(_ record: AuditRecord) {
        record.forEachTextField { name, value in
            let bytes = name.bytes
            guard bytes.count >= 2, bytes[0] == UInt8(ascii: "a"), (48...57).contains(bytes[1]) else { return }
            var end = 1
            while end < bytes.count, (48...57).contains(bytes[end]) { end += 1 }
            guard let index = Int(String(decoding: bytes[1..<end], as: UTF8.self)), index < 1 << 16 else { return }
            let piece: [UInt8]?
            if end == bytes.count {
                piece = AuditValue.decode(value)          // aN="text" or aN=HEX
            } else if bytes[end] == UInt8(ascii: "[") {
                piece = AuditValue.decodeHex(value.bytes) // aN[k]=HEX chunk
            } else {
                return                                     // aN_len=
            }
            while arguments.count <= index { arguments.append([]) }
            arguments[index].append(contentsOf: piece ?? [])
        }
    }
}

/// User names from an ENRICHED record (`AUID="alice" UID="root" EUID="root" ...`).
struct EnrichedNames {
    var auid: String?
    var uid: String?
    var euid: String?

    init() {}

    init(_ text: FieldText) {
        text.forEachNameValue { name, value in
            var inner = value.bytes
            if inner.count >= 2, inner.first == UInt8(ascii: "\""), inner.last == UInt8(ascii: "\"") {
                inner = UnsafeRawBufferPointer(rebasing: inner[1..<(inner.count - 1)])
            }
            if name.equals("AUID") { auid = String(decoding: inner, as: UTF8.self) }
            else if name.equals("UID") { uid = String(decoding: inner, as: UTF8.self) }
            else if name.equals("EUID") { euid = String(decoding: inner, as: UTF8.self) }
        }
    }
}
