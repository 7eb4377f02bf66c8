/// The system call tables whose file operations the normaliser understands, by the
/// `arch=` value the kernel logs (AUDIT_ARCH_*).
public enum Architecture: UInt64, Sendable {
    case x86_64 = 0xC000_003E
    /// 32-bit x86, also reached from 64-bit programs through `int 0x80`.
    case i386 = 0x4000_0003
    case aarch64 = 0xC000_00B7

    public var name: String {
        switch self {
        case .x86_64: "x86_64"
        case .i386: "i386"
        case .aarch64: "aarch64"
        }
    }
}

/// A system call that can make a new name (or run a program) in a watched directory, or
/// change an existing one there (the compliance report's modifications, deletions and
/// attribute changes).
public enum FileSyscall: String, Sendable {
    case open, creat, openat, openat2
    case link, linkat, symlink, symlinkat, mknod, mknodat
    case rename, renameat, renameat2
    case execve, execveat
    /// Directory changes: parsed to learn, move and forget directories' identities.
    case mkdir, mkdirat, rmdir, unlinkat
    /// A process making an io_uring instance: remembers its executable, since the
    /// URINGOP records of its operations name none.
    case ioUringSetup = "io_uring_setup"
    /// Mounts: one over a place replaces it (`open_tree` clones a tree for `move_mount`).
    case mount
    case moveMount = "move_mount"
    case openTree = "open_tree"
    /// Changes to an existing file, for the compliance report: never rule candidates.
    case truncate, unlink
    case chmod, fchmodat, fchmodat2, chown, lchown, fchownat
    case setxattr, lsetxattr, removexattr, lremovexattr
    case utime, utimes, futimesat, utimensat

    enum Kind { case open, otherCreation, rename, exec, directory, ringSetup, mount, truncate, unlink, attributes }

    /// Whether the call renames (rename, renameat, renameat2).
    public var isRename: Bool { kind == .rename }

    var kind: Kind {
        switch self {
        case .open, .creat, .openat, .openat2: .open
        case .link, .linkat, .symlink, .symlinkat, .mknod, .mknodat: .otherCreation
        case .rename, .renameat, .renameat2: .rename
        case .execve, .execveat: .exec
        case .mkdir, .mkdirat, .rmdir, .unlinkat: .directory
        case .ioUringSetup: .ringSetup
        case .mount, .moveMount, .openTree: .mount
        case .truncate: .truncate
        case .unlink: .unlink
        case .chmod, .fchmodat, .fchmodat2, .chown, .lchown, .fchownat, .setxattr, .lsetxattr, .removexattr,
             .lremovexattr, .utime, .utimes, .futimesat, .utimensat: .attributes
        }
    }

    /// Which argument (a0...a3) holds the directory fd the *new* name is relative to.
    /// nil for the calls without one: their relative names are relative to the CWD.
    var newNameDirectoryArgument: Int? {
        switch self {
        case .openat, .openat2, .mknodat, .execveat, .mkdirat, .unlinkat: 0
        case .fchmodat, .fchmodat2, .fchownat, .futimesat, .utimensat: 0
        case .symlinkat: 1
        case .linkat, .renameat, .renameat2: 2
        case .open, .creat, .link, .symlink, .mknod, .rename, .execve, .mkdir, .rmdir, .ioUringSetup, .mount: nil
        case .truncate, .unlink, .chmod, .chown, .lchown, .setxattr, .lsetxattr, .removexattr, .lremovexattr,
             .utime, .utimes: nil
        case .moveMount: 2
        case .openTree: 0
        }
    }

    /// Which argument holds the directory fd of the *old* name (rename and link sources,
    /// the name unlinkat removes).
    var oldNameDirectoryArgument: Int? {
        switch self {
        case .linkat, .renameat, .renameat2, .unlinkat: 0
        default: nil
        }
    }

    /// The operation an io_uring request performs (`uring_op=`, `enum io_uring_op` in
    /// include/uapi/linux/io_uring.h), for the ones that make, move or remove names.
    public static func lookup(uringOperation number: UInt64) -> FileSyscall? {
        switch number {
        case 18: .openat
        case 28: .openat2
        case 35: .renameat
        case 36: .unlinkat
        case 37: .mkdirat
        case 38: .symlinkat
        case 39: .linkat
        default: nil
        }
    }

    /// Looks up a system call number in the table of `architecture`.
    public static func lookup(_ number: UInt64, architecture: Architecture) -> FileSyscall? {
        switch architecture {
        case .x86_64: x86_64[number]
        case .i386: i386[number]
        case .aarch64: generic[number]
        }
    }

    // arch/x86/entry/syscalls/syscall_64.tbl
    private static let x86_64: [UInt64: FileSyscall] = [
        2: .open, 85: .creat, 257: .openat, 437: .openat2,
        86: .link, 265: .linkat, 88: .symlink, 266: .symlinkat, 133: .mknod, 259: .mknodat,
        82: .rename, 264: .renameat, 316: .renameat2, 59: .execve, 322: .execveat,
        83: .mkdir, 258: .mkdirat, 84: .rmdir, 263: .unlinkat, 425: .ioUringSetup,
        165: .mount, 428: .openTree, 429: .moveMount,
        76: .truncate, 87: .unlink, 90: .chmod, 268: .fchmodat, 452: .fchmodat2,
        92: .chown, 94: .lchown, 260: .fchownat, 188: .setxattr, 189: .lsetxattr, 197: .removexattr,
        198: .lremovexattr, 132: .utime, 235: .utimes, 261: .futimesat, 280: .utimensat,
    ]
    // arch/x86/entry/syscalls/syscall_32.tbl (the 16-bit-id chown calls and the 64-bit
    // offset and time variants count as their plain names)
    private static let i386: [UInt64: FileSyscall] = [
        5: .open, 8: .creat, 295: .openat, 437: .openat2,
        9: .link, 303: .linkat, 83: .symlink, 304: .symlinkat, 14: .mknod, 297: .mknodat,
        38: .rename, 302: .renameat, 353: .renameat2, 11: .execve, 358: .execveat,
        39: .mkdir, 296: .mkdirat, 40: .rmdir, 301: .unlinkat, 425: .ioUringSetup,
        21: .mount, 428: .openTree, 429: .moveMount,
        92: .truncate, 193: .truncate, 10: .unlink, 15: .chmod, 306: .fchmodat, 452: .fchmodat2,
        182: .chown, 212: .chown, 16: .lchown, 198: .lchown, 298: .fchownat,
        226: .setxattr, 227: .lsetxattr, 235: .removexattr, 236: .lremovexattr,
        30: .utime, 271: .utimes, 299: .futimesat, 320: .utimensat, 412: .utimensat,
    ]
    // include/uapi/asm-generic/unistd.h (arm64 has no open, creat, link, rename, ...)
    private static let generic: [UInt64: FileSyscall] = [
        56: .openat, 437: .openat2, 37: .linkat, 36: .symlinkat, 33: .mknodat,
        38: .renameat, 276: .renameat2, 221: .execve, 281: .execveat,
        34: .mkdirat, 35: .unlinkat, 425: .ioUringSetup,
        40: .mount, 428: .openTree, 429: .moveMount,
        45: .truncate, 53: .fchmodat, 452: .fchmodat2, 54: .fchownat, 5: .setxattr, 6: .lsetxattr,
        14: .removexattr, 15: .lremovexattr, 88: .utimensat,
    ]
}
