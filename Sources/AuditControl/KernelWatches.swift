import CAudit
import FileEvents
import Glibc
import RuleEngine
import HostFiles

/// The file-system watches loaded in the kernel, as `auditctl -l` lists them: `-w PATH`
/// and `-F path=PATH` (one inode, and the entries of a directory through their PARENT
/// item) or `-F dir=PATH` (a whole tree).
public struct KernelWatches: Sendable {
    public struct Watch: Equatable, Sendable {
        public var path: RawPath
        /// `dir=`: everything below `path`.
        public var isTree: Bool
        /// The filter list: 4 for system calls (`exit`), 7 for io_uring operations.
        public var list: Int
        /// `arch=`: the system-call table (`b64`, `b32`, ...) it applies to; nil for all.
        public var architecture: String?

        public init(path: RawPath, isTree: Bool, list: Int = Int(AUDIT_FILTER_EXIT), architecture: String? = nil) {
            self.path = path
            self.isTree = isTree
            self.list = list
            self.architecture = architecture
        }
    }

    public var watches: [Watch]

    public init(watches: [Watch]) { self.watches = watches }

    /// Asks the kernel for its rules over the audit netlink socket (needs
    /// CAP_AUDIT_CONTROL). Returns a reason on failure.
    public static func load() -> Result<KernelWatches, WatchListError> {
        let fd = audit_open()
        guard fd >= 0 else { return .failure(WatchListError("audit_open: \(String(cString: strerror(errno)))")) }
        defer { audit_close(fd) }
        // The kernel answers at once; never wait on it longer than this.
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard audit_request_rules_list_data(fd) > 0 else {
            return .failure(WatchListError("listing audit rules: \(String(cString: strerror(errno)))"))
        }
        var watches: [Watch] = []
        while true {
            var reply = audit_reply()
            guard audit_get_reply(fd, &reply, GET_REPLY_BLOCKING, 0) > 0 else {
                return .failure(WatchListError("listing audit rules: no complete answer from the kernel"))
            }
            switch reply.type {
            case NLMSG_DONE:
                return .success(KernelWatches(watches: watches))
            case NLMSG_ERROR:
                let code = reply.error.pointee.error
                if code != 0 { return .failure(WatchListError("listing audit rules: \(String(cString: strerror(-code)))")) }
            case CInt(AUDIT_LIST_RULES):
                watches += Self.watches(in: reply.ruledata)
            default:
                continue
            }
        }
    }

    /// The watch fields of one rule. String-valued fields keep their text, one after
    /// another, in `buf`; `values[i]` is the length of field i's string.
    private static func watches(in rule: UnsafeMutablePointer<audit_rule_data>) -> [Watch] {
        let raw = UnsafeRawPointer(rule)
        let fieldsOffset = MemoryLayout<audit_rule_data>.offset(of: \.fields)!
        let valuesOffset = MemoryLayout<audit_rule_data>.offset(of: \.values)!
        let text = raw + MemoryLayout<audit_rule_data>.size
        let stringFields: Set<UInt32> = [
            UInt32(AUDIT_SUBJ_USER), UInt32(AUDIT_SUBJ_ROLE), UInt32(AUDIT_SUBJ_TYPE), UInt32(AUDIT_SUBJ_SEN),
            UInt32(AUDIT_SUBJ_CLR), UInt32(AUDIT_OBJ_USER), UInt32(AUDIT_OBJ_ROLE), UInt32(AUDIT_OBJ_TYPE),
            UInt32(AUDIT_OBJ_LEV_LOW), UInt32(AUDIT_OBJ_LEV_HIGH), UInt32(AUDIT_WATCH), UInt32(AUDIT_DIR),
            UInt32(AUDIT_FILTERKEY), UInt32(AUDIT_EXE),
        ]
        var found: [Watch] = []
        var offset = 0
        let list = Int(rule.pointee.flags & ~UInt32(AUDIT_FILTER_PREPEND))
        var architecture: String?
        for index in 0 ..< Int(min(rule.pointee.field_count, UInt32(AUDIT_MAX_FIELDS))) {
            let field = raw.loadUnaligned(fromByteOffset: fieldsOffset + index * 4, as: UInt32.self)
            let value = raw.loadUnaligned(fromByteOffset: valuesOffset + index * 4, as: UInt32.self)
            if field == UInt32(AUDIT_ARCH) {
                // AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64.
                architecture = switch value { case 0xC000_003E, 0xC000_00B7: "b64"; case 0x4000_0003: "b32"; default: String(value, radix: 16) }
            }
            guard stringFields.contains(field) else { continue }
            let length = Int(value)
            guard offset + length <= Int(rule.pointee.buflen) else { break }
            if field == UInt32(AUDIT_WATCH) || field == UInt32(AUDIT_DIR) {
                let path = RawPath(bytes: Array(UnsafeRawBufferPointer(start: text + offset, count: length)))
                found.append(Watch(path: path, isTree: field == UInt32(AUDIT_DIR), list: list))
            }
            offset += length
        }
        // `arch=` may come after the path among the fields.
        return found.map {
            var watch = $0
            watch.architecture = architecture
            return watch
        }
    }

    /// The locations no watch on filter list `list` covers: no watch on the path itself,
    /// none on its directory (whose PARENT item every creation in it carries), no tree
    /// watch above it.
    /// With `architecture`, only watches for that system-call table (or for all) count;
    /// with `trees`, only `dir=` watches (which see writes to existing files) count.
    public func uncovered(_ locations: [RuleLocation], usrMerge: UsrMerge,
                          list: Int = Int(AUDIT_FILTER_EXIT), architecture: String? = nil, trees: Bool = false) -> [RuleLocation] {
        let watched = watches.filter {
            $0.list == list && (architecture == nil || $0.architecture == nil || $0.architecture == architecture) && (!trees || $0.isTree)
        }.map { Watch(path: usrMerge.canonical($0.path), isTree: $0.isTree) }
        return locations.filter { location in
            let path = usrMerge.canonical(location.path)
            return !watched.contains { watch in
                watch.path == path || watch.path == path.directory && !location.isDirectory
                    || watch.isTree && (watch.path == "/" && path.isAbsolute || watch.path.isAbove(path))
            }
        }
    }
}

public struct WatchListError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
