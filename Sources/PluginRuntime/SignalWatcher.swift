import Glibc
import Synchronization
import Threads

/// The plugin's signals, taken by one thread with sigwaitinfo(2).
///
/// SIGHUP, SIGTERM and SIGUSR1 are blocked in every thread (call `blockSignals()` before
/// starting any), so no handler ever interrupts libauparse or malloc, and the sender of
/// each signal is known: auditd forwards SIGTERM to its plugins, and, as its own plugins
/// have done since 2025, a SIGTERM from anyone but the parent is ignored, so that only
/// auditd stops the plugin (a stray `kill` would make it restart the plugin anyway).
public final class SignalWatcher: Sendable {
    public enum Request: Sendable {
        /// SIGHUP: reload the configuration and the rule, reopen the output.
        case reload
        /// SIGUSR1: write the state report.
        case report
        /// SIGTERM from the parent: finish the queued input and exit.
        case stop
    }

    private static let watched = [SIGHUP, SIGTERM, SIGUSR1]
    private let pending = Mutex<[Request]>([])
    /// SIGTERMs ignored because they did not come from the parent.
    public let ignoredTerminations = Atomic<Int>(0)

    public init() {}

    /// Blocks the watched signals in the calling thread and every thread it starts later,
    /// and unblocks the others: auditd starts plugins with its own signal mask and
    /// dispositions, which a plugin must reset (auditd-plugins(5)).
    public static func blockSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        pthread_sigmask(SIG_SETMASK, &set, nil)
        for signal in watched {
            sigaddset(&set, signal)
            Glibc.signal(signal, SIG_DFL)
        }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        // A closed pipe or socket is an error to handle, not a reason to die.
        Glibc.signal(SIGPIPE, SIG_IGN)
    }

    /// Starts the signal thread; `onRequest` runs on it after each accepted signal, and
    /// `onIgnored` with the sender of each SIGTERM that did not come from the parent.
    public func start(onRequest: @escaping @Sendable () -> Void, onIgnored: @escaping @Sendable (pid_t) -> Void) {
        PosixThread.detach(named: "lkm-signals") { [self] in
            var set = sigset_t()
            sigemptyset(&set)
            for signal in Self.watched { sigaddset(&set, signal) }
            while true {
                var info = siginfo_t()
                let signal = sigwaitinfo(&set, &info)
                guard signal > 0 else { continue }
                let request: Request
                switch signal {
                case SIGHUP: request = .reload
                case SIGUSR1: request = .report
                default:
                    let sender = info._sifields._kill.si_pid
                    guard sender == getppid() else {
                        ignoredTerminations.add(1, ordering: .relaxed)
                        onIgnored(sender)
                        continue
                    }
                    request = .stop
                }
                pending.withLock { $0.append(request) }
                onRequest()
            }
        }
    }

    /// The requests received since the last call, oldest first.
    public func takeRequests() -> [Request] {
        pending.withLock { requests in
            defer { requests.removeAll() }
            return requests
        }
    }
}
