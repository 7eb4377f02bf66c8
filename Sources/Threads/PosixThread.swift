import Glibc
import HostFiles

/// A POSIX thread of the detector's own, named (as `ps -L` and `top -H` show it). One
/// that is started is joined once (it cannot be copied); one that is detached lives as
/// long as the process (the plugin's).
public struct PosixThread: ~Copyable {
    private let handle: pthread_t

    /// Starts a thread named `name` (the kernel keeps 15 bytes) that runs `body` once;
    /// the caller `join`s it.
    public static func start(named name: String, _ body: @escaping @Sendable () -> Void) -> PosixThread {
        PosixThread(handle: create(named: name, body))
    }

    /// Starts a thread named `name` that runs `body` once, and lets it go.
    public static func detach(named name: String, _ body: @escaping @Sendable () -> Void) {
        pthread_detach(create(named: name, body))
    }

    private static func create(named name: String, _ body: @escaping @Sendable () -> Void) -> pthread_t {
        final class Start: Sendable {
            let name: String
            let body: @Sendable () -> Void
            init(name: String, body: @escaping @Sendable () -> Void) {
                self.name = name
                self.body = body
            }
        }
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var handle = pthread_t()
        let status = pthread_create(&handle, nil, { argument in
            let start = Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue()
            // pthread_setname_np needs _GNU_SOURCE; this is what it does.
            let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
            if fd >= 0 {
                let name = Array(start.name.utf8.prefix(15))
                _ = name.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
            }
            start.body()
            return nil
        }, start)
        guard status == 0 else { fatalError("pthread_create: \(String(cString: strerror(status)))") }
        return handle
    }

    /// Waits for the thread to end.
    public consuming func join() { pthread_join(handle, nil) }

    /// Makes the calling thread `levels` nice levels less urgent than it is (Linux applies
    /// setpriority with a thread id to that thread alone; lowering needs no privilege).
    public static func lowerPriority(by levels: Int32) {
        // gettid() needs _GNU_SOURCE; /proc/thread-self links to PID/task/TID.
        guard let link = SmallFile.linkTarget(RawPath("/proc/thread-self")),
              let thread = link.lossyText.split(separator: "/").last.flatMap({ id_t($0) })
        else { return }
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        errno = 0
        let current = getpriority(which, thread)
        if errno == 0 { setpriority(which, thread, min(19, current + levels)) }
    }
}
