import CAudit
import Glibc
import HostFiles

/// Adds and removes the detector's path watches in the kernel through libaudit: on the
/// io_uring list, which auditctl 3.0.9 (Debian 12) cannot write, and, to re-arm after
/// a flush, on the system-call list exactly as audit-rules/50-audisp-lkm.rules writes
/// them, with its `io_uring_setup` rule. Needs CAP_AUDIT_CONTROL.
public enum WatchLoader {
    /// A kernel filter list a watch goes on.
    public enum List: Sendable, Equatable, CustomStringConvertible {
        /// `-a always,exit -F arch=ARCH -F path=P -F perm=wa -k KEY`.
        case exit(architecture: String)
        /// `-a always,io_uring -F path=P -k KEY`: the kernel refuses `perm` here (EINVAL),
        /// so the watch matches every io_uring operation naming an entry of P.
        case ioUring

        /// `AUDIT_FILTER_EXIT` (4) or `AUDIT_FILTER_URING_EXIT` (7, kernel 5.16+).
        var number: Int32 { self == .ioUring ? 7 : Int32(AUDIT_FILTER_EXIT) }

        public var description: String {
            switch self {
            case .exit(let architecture): "exit arch=\(architecture)"
            case .ioUring: "io_uring"
            }
        }

        /// Every list a watch of the detector is on: both system-call tables, io_uring.
        public static let all: [List] = [.exit(architecture: "b64"), .exit(architecture: "b32"), .ioUring]
    }

    /// What happened to one watch.
    public enum Outcome: Sendable, Equatable {
        case added
        /// The kernel already had it (EEXIST on add, ENOENT on remove).
        case unchanged
        case failed(String)
    }

    /// What adding or removing a set of watches did.
    public struct Summary: Sendable {
        public var changed = 0
        public var unchanged = 0
        /// One line per watch that failed: the list, the path and the reason.
        public var failures: [String] = []

        /// Counts `other`'s watches in this summary too.
        public mutating func add(_ other: Summary) {
            changed += other.changed
            unchanged += other.unchanged
            failures += other.failures
        }
    }

    /// What a rule watches: a path (for writes), the files of an existing directory
    /// (`dir=`), mounts over a path, or a system call.
    enum Target: CustomStringConvertible {
        case path(RawPath)
        case tree(RawPath)
        case mounts(RawPath)
        case syscall(String)

        var description: String {
            switch self {
            case .path(let path): path.lossyText
            case .tree(let path): "-F dir=\(path.lossyText)"
            case .mounts(let path): "-S mount,move_mount,open_tree \(path.lossyText)"
            case .syscall(let name): "-S \(name)"
            }
        }
    }

    /// Kernel fact (6.18): a `path=` watch on a directory matches a call only through a
    /// PARENT item, which the kernel logs for calls that make, remove or rename an entry;
    /// writing to an existing file, truncating it or changing its mode or owner names the
    /// file alone and is not seen. A `dir=` watch matches every inode under the directory,
    /// so it sees those too (the report's modifications and attribute changes), but the
    /// kernel resolves it when it is loaded: it cannot be loaded for a missing directory
    /// (rules files would stop there), and stays with that directory if it is replaced.
    /// It is loaded here, for the places that exist.
    static func existingDirectories(_ paths: [RawPath]) -> [RawPath] {
        paths.filter { path in (try? path.status(followingLinks: true)).map { $0.st_mode & S_IFMT == S_IFDIR } ?? false }
    }

    /// Adds (or removes) the watch on every path in `paths` on every list in `lists`, and
    /// on each system-call list the mount rule of every path and the `io_uring_setup` rule.
    public static func apply(adding: Bool, paths: [RawPath], key: String, lists: [List]) -> Summary {
        var summary = Summary()
        let trees = existingDirectories(paths).map(Target.tree)
        for list in lists {
            var targets = paths.map(Target.path)
            if list != .ioUring {
                targets += trees + paths.map(Target.mounts) + [.syscall("io_uring_setup")]
            }
            apply(adding: adding, targets, key: key, list: list, into: &summary)
        }
        return summary
    }

    /// Adds (or removes) the `dir=` watch of every existing directory in `paths` on both
    /// system-call tables: what a rules file cannot hold (see `existingDirectories`).
    public static func applyTrees(adding: Bool, paths: [RawPath], key: String) -> Summary {
        var summary = Summary()
        let trees = existingDirectories(paths).map(Target.tree)
        for list in List.all where list != .ioUring {
            apply(adding: adding, trees, key: key, list: list, into: &summary)
        }
        return summary
    }

    private static func apply(adding: Bool, _ targets: [Target], key: String, list: List, into summary: inout Summary) {
        for target in targets {
            switch change(target, key: key, list: list, adding: adding) {
            case .added: summary.changed += 1
            case .unchanged: summary.unchanged += 1
            case .failed(let reason): summary.failures.append("\(list) \(target): \(reason)")
            }
        }
    }

    /// An exit watch matches every system call (perm=wa narrows it to the write and attribute classes), as
    /// auditctl writes it. Kernel facts for io_uring watches (6.18): the rule's mask is
    /// tested with the operation's index 0, not its `uring_op`; and because watches of
    /// every list share one inode table, the system-call exit tests them too, with the
    /// system call number. A mask of every bit would log each read-only open or `cd`
    /// into the directory; bit 0 (x86_64 read, which names no path) alone logs every
    /// io_uring operation and no system call. The bits of the operations themselves are
    /// set too, in case a kernel uses `uring_op` as the index.
    private static func setMask(_ rule: UnsafeMutablePointer<audit_rule_data>, list: List) -> Bool {
        guard list == .ioUring else { return audit_rule_syscallbyname_data(rule, "all") == 0 }
        withUnsafeMutableBytes(of: &rule.pointee.mask) { words in
            for bit in [0] + uringOperations {
                let word = bit / 32
                words.storeBytes(of: words.load(fromByteOffset: word * 4, as: UInt32.self) | 1 << UInt32(bit % 32),
                                 toByteOffset: word * 4, as: UInt32.self)
            }
        }
        return true
    }

    /// `enum io_uring_op`: OPENAT 18, OPENAT2 28, RENAMEAT 35, UNLINKAT 36, MKDIRAT 37,
    /// SYMLINKAT 38, LINKAT 39.
    static let uringOperations = [18, 28, 35, 36, 37, 38, 39]

    private static func change(_ target: Target, key: String, list: List, adding: Bool) -> Outcome {
        var rule: UnsafeMutablePointer<audit_rule_data>? = audit_rule_create_data()
        defer { audit_rule_free_data(rule) }
        guard rule != nil else { return .failed("out of memory") }
        // `name=value` as libaudit takes it, a C string: a path's exact bytes (a place
        // replaced by a link may point at a name that is not UTF-8).
        func field(_ name: String, _ path: RawPath) -> [UInt8] { Array((name + "=").utf8) + path.bytes }
        var pairs: [[UInt8]] = []
        if case .exit(let architecture) = list { pairs.append(Array("arch=\(architecture)".utf8)) }
        switch target {
        case .path(let path):
            guard Self.setMask(rule!, list: list) else { return .failed("libaudit: the rule's mask cannot be set") }
            pairs.append(field("path", path))
            if case .exit = list { pairs.append(Array("perm=wa".utf8)) }
        case .tree(let path):
            guard Self.setMask(rule!, list: list) else { return .failed("libaudit: the rule's mask cannot be set") }
            pairs += [field("dir", path), Array("perm=wa".utf8)]
        case .mounts(let path):
            for name in ["mount", "move_mount", "open_tree"] where audit_rule_syscallbyname_data(rule, name) != 0 {
                return .failed("libaudit: no system call \(name)")
            }
            pairs.append(field("path", path))
        case .syscall(let name):
            guard audit_rule_syscallbyname_data(rule, name) == 0 else { return .failed("libaudit: no system call \(name)") }
        }
        pairs.append(Array("key=\(key)".utf8))
        for pair in pairs {
            let status = (pair + [0]).withUnsafeBufferPointer { text in
                text.withMemoryRebound(to: CChar.self) { audit_rule_fieldpair_data(&rule, $0.baseAddress, Int32(AUDIT_FILTER_EXIT)) }
            }
            guard status == 0 else {
                // libaudit's own codes (EAU_*), not errno values.
                return .failed("libaudit refused \(String(decoding: pair, as: UTF8.self)) (error \(status))")
            }
        }
        let fd = audit_open()
        guard fd >= 0 else { return .failed("audit_open: \(String(cString: strerror(errno)))") }
        defer { audit_close(fd) }
        let status = adding ? audit_add_rule_data(fd, rule, list.number, Int32(AUDIT_ALWAYS))
            : audit_delete_rule_data(fd, rule, list.number, Int32(AUDIT_ALWAYS))
        if status > 0 { return .added }
        if status == -EEXIST && adding || status == -ENOENT && !adding { return .unchanged }
        return .failed(String(cString: strerror(-status)))
    }
}
