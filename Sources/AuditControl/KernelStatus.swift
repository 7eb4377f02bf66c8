import CAudit
import Glibc

/// The kernel's audit status (`auditctl -s`): whether auditing is on or locked, which
/// process receives the records, and how many were lost.
public struct KernelStatus: Sendable {
    /// 0 off, 1 on, 2 on and locked (`-e 2`: rules cannot change until reboot).
    public var enabled: UInt32
    /// The pid of the auditd the kernel sends to; 0 for none.
    public var pid: UInt32
    public var backlogLimit: UInt32
    /// Records lost since boot: backlog full, rate limit, or no auditd to take them.
    public var lost: UInt32
    public var backlog: UInt32

    /// Asks the kernel over the audit netlink socket (root).
    public static func load() -> Result<KernelStatus, WatchListError> {
        let fd = audit_open()
        guard fd >= 0 else { return .failure(WatchListError("audit_open: \(String(cString: strerror(errno)))")) }
        defer { audit_close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard audit_request_status(fd) > 0 else {
            return .failure(WatchListError("asking the audit status: \(String(cString: strerror(errno)))"))
        }
        for _ in 0..<8 {
            var reply = audit_reply()
            guard audit_get_reply(fd, &reply, GET_REPLY_BLOCKING, 0) > 0 else { break }
            if reply.type == NLMSG_ERROR, reply.error.pointee.error != 0 {
                return .failure(WatchListError("asking the audit status: \(String(cString: strerror(-reply.error.pointee.error)))"))
            }
            guard reply.type == AUDIT_GET, let status = reply.status?.pointee else { continue }
            return .success(KernelStatus(enabled: status.enabled, pid: status.pid, backlogLimit: status.backlog_limit,
                                         lost: status.lost, backlog: status.backlog))
        }
        return .failure(WatchListError("asking the audit status: no answer from the kernel"))
    }

    /// Whether `pid` is a live auditd: an auditd killed without unregistering stays the
    /// kernel's pid until the kernel next fails to send it a record.
    public var auditdIsAlive: Bool {
        guard pid > 0, let comm = try? String(contentsOfProcFile: "/proc/\(pid)/comm") else { return false }
        return comm == "auditd"
    }
}

extension String {
    /// The first line of a small /proc file.
    init(contentsOfProcFile path: String) throws(WatchListError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw WatchListError("\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(fd, &buffer, buffer.count)
        guard count >= 0 else { throw WatchListError("\(path): \(String(cString: strerror(errno)))") }
        self = String(decoding: buffer[..<count].prefix { $0 != 0x0A }, as: UTF8.self)
    }
}
