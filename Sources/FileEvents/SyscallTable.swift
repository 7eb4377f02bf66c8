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

/// A system call that can make a new name (or run a program) in a watched directory.
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

    enum Kind { case open, otherCreation, rename, exec, directory, ringSetup, mount }

    var kind: Kind {
        switch self {
        case .open, .creat, .openat, .openat2: .open
        case .link, .linkat, .symlink, .symlinkat, .mknod, .mknodat: .otherCreation
        case .rename, .renameat, .renameat2: .rename
        case .execve, .execveat: .exec
        case .mkdir, .mkdirat, .rmdir, .unlinkat: .directory
        case .ioUringSetup: .ringSetup
        case .mount, .moveMount, .openTree: .mount
        }
    }

    /// Which argument (a0...a3) holds the directory fd the *new* name is relative to.
    /// nil for the calls without one: their relative names are relative to the CWD.
    var newNameDirectoryArgument: Int? {
        switch self {
        case .openat, .openat2, .mknodat, .execveat, .mkdirat, .unlinkat: 0
        case .symlinkat: 1
        case .linkat, .renameat, .renameat2: 2
        case .open, .creat, .link, .symlink, .mknod, .rename, .execve, .mkdir, .rmdir, .ioUringSetup, .mount: nil
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
    ]
    // arch/x86/entry/syscalls/syscall_32.tbl
    private static let i386: [UInt64: FileSyscall] = [
        5: .open, 8: .creat, 295: .openat, 437: .openat2,
        9: .link, 303: .linkat, 83: .symlink, 304: .symlinkat, 14: .mknod, 297: .mknodat,
        38: .rename, 302: .renameat, 353: .renameat2, 11: .execve, 358: .execveat,
        39: .mkdir, 296: .mkdirat, 40: .rmdir, 301: .unlinkat, 425: .ioUringSetup,
        21: .mount, 428: .openTree, 429: .moveMount,
    ]
    // include/uapi/asm-generic/unistd.h (arm64 has no open, creat, link, rename, ...)
    private static let generic: [UInt64: FileSyscall] = [
        56: .openat, 437: .openat2, 37: .linkat, 36: .symlinkat, 33: .mknodat,
        38: .renameat, 276: .renameat2, 221: .execve, 281: .execveat,
        34: .mkdirat, 35: .unlinkat, 425: .ioUringSetup,
        40: .mount, 428: .openTree, 429: .moveMount,
    ]
}
