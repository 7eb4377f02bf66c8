import Glibc
import HostFiles

/// Starts a detached POSIX thread named `name` (as `ps -L` and `top -H` show it) that
/// runs `body` once. The plugin's threads live as long as the process.
func startDetachedThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    final class Box: @unchecked Sendable {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
    let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
    var thread = pthread_t()
    let status = pthread_create(&thread, nil, { argument in
        let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
        // pthread_setname_np needs _GNU_SOURCE; this is what it does. The kernel keeps
        // 15 bytes of a thread name.
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        if fd >= 0 {
            let name = Array(box.name.utf8.prefix(15))
            _ = name.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        box.body()
        return nil
    }, box)
    guard status == 0 else { fatalError("pthread_create: \(String(cString: strerror(status)))") }
    pthread_detach(thread)
}

/// Makes the calling thread `levels` nice levels less urgent than it is (Linux applies
/// setpriority with a thread id to that thread alone; lowering needs no privilege).
func lowerThreadPriority(by levels: Int32) {
    // gettid() needs _GNU_SOURCE; /proc/thread-self links to PID/task/TID.
    guard let link = SmallFile.linkTarget(RawPath("/proc/thread-self")),
          let thread = link.lossyText.split(separator: "/").last.flatMap({ id_t($0) })
    else { return }
    let which = __priority_which_t(PRIO_PROCESS.rawValue)
    errno = 0
    let current = getpriority(which, thread)
    if errno == 0 { setpriority(which, thread, min(19, current + levels)) }
}
