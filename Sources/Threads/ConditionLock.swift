import Glibc

/// A mutex and a condition variable, what a queue between threads waits on. Timed waits
/// run on the monotonic clock: setting the wall clock back never lengthens one.
public final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// `body`, run holding the mutex.
    public func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Inside `withLock`: lets the mutex go until a `broadcast`. A wait may also end for
    /// no reason (POSIX allows it), so callers test what they wait for in a loop.
    public func wait() { pthread_cond_wait(condition, mutex) }

    /// As `wait`, until the monotonic time `deadline` at the latest; false once it has
    /// passed.
    public func wait(until deadline: timespec) -> Bool {
        var limit = deadline
        return pthread_cond_timedwait(condition, mutex, &limit) != ETIMEDOUT
    }

    /// Wakes every thread waiting.
    public func broadcast() { pthread_cond_broadcast(condition) }

    /// The monotonic time `nanoseconds` from now.
    public static func deadline(after nanoseconds: Int) -> timespec {
        precondition(nanoseconds >= 0, "ConditionLock: a deadline in the past")
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let total = Int(now.tv_nsec) + nanoseconds % 1_000_000_000
        return timespec(tv_sec: now.tv_sec + nanoseconds / 1_000_000_000 + total / 1_000_000_000,
                        tv_nsec: total % 1_000_000_000)
    }
}
