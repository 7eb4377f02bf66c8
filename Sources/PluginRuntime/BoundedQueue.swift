import Glibc

/// A first-in first-out queue between threads that refuses, rather than waits, when full.
///
/// The reading side of the plugin must never block (auditd would stall behind it), so
/// `offer` fails at once when `capacity` would be exceeded and the refusal is counted;
/// the taking side waits, with a timeout, on a monotonic clock.
public final class BoundedQueue<Element>: @unchecked Sendable {
    /// The most the queue holds, in the units of `cost`.
    public let capacity: Int
    private let cost: (Element) -> Int
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `lock`.
    private var items: [Element] = []
    private var head = 0
    private var load = 0
    private var closed = false
    private var woken = false
    private var statistics = QueueStatistics()

    /// A queue holding at most `capacity` units, where an element costs `cost(element)`.
    public init(capacity: Int, cost: @escaping (Element) -> Int) {
        self.capacity = capacity
        self.cost = cost
        pthread_mutex_init(lock, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(changed, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(lock)
        lock.deallocate()
        changed.deallocate()
    }

    /// Appends `element` unless that would exceed the capacity or the queue is closed;
    /// never waits.
    public func offer(_ element: Element) -> Bool {
        let units = cost(element)
        return locked {
            guard !closed, load + units <= capacity else {
                statistics.refused += 1
                return false
            }
            items.append(element)
            load += units
            statistics.highWater = max(statistics.highWater, load)
            pthread_cond_signal(changed)
            return true
        }
    }

    /// What `take` found.
    public enum Taken {
        case element(Element)
        /// The timeout passed, or `wake()` was called, with nothing queued.
        case nothing
        /// The queue is closed and empty.
        case closed
    }

    /// Removes the oldest element, waiting up to `timeout` nanoseconds for one.
    public func take(timeout: Int) -> Taken {
        locked {
            let deadline = Self.deadline(after: timeout)
            while head == items.count && !closed && !woken {
                var limit = deadline
                if pthread_cond_timedwait(changed, lock, &limit) == ETIMEDOUT { break }
            }
            woken = false
            guard head < items.count else { return closed ? .closed : .nothing }
            let element = items[head]
            head += 1
            load -= cost(element)
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024 && head * 2 >= items.count {
                items.removeFirst(head)
                head = 0
            }
            return .element(element)
        }
    }

    /// Waits up to `timeout` nanoseconds, returning early when the queue is closed or woken.
    public func pause(timeout: Int) {
        locked {
            let deadline = Self.deadline(after: timeout)
            while !closed && !woken {
                var limit = deadline
                if pthread_cond_timedwait(changed, lock, &limit) == ETIMEDOUT { break }
            }
            woken = false
        }
    }

    /// Makes a waiting `take` or `pause` return now.
    public func wake() {
        locked {
            woken = true
            pthread_cond_broadcast(changed)
        }
    }

    /// No more elements will be accepted; `take` returns the rest, then `.closed`.
    public func close() {
        locked {
            closed = true
            pthread_cond_broadcast(changed)
        }
    }

    public var isClosed: Bool { locked { closed } }

    /// The units queued now, the most ever queued, and what was refused.
    public var snapshot: QueueStatistics {
        locked {
            var copy = statistics
            copy.load = load
            copy.capacity = capacity
            return copy
        }
    }

    /// Returns the count of refusals since the last call, and forgets it.
    public func takeRefusalsSinceLastCall() -> Int {
        locked {
            defer { statistics.refusalsReported = statistics.refused }
            return statistics.refused - statistics.refusalsReported
        }
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }

    private static func deadline(after nanoseconds: Int) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let total = Int(now.tv_nsec) + nanoseconds % 1_000_000_000
        return timespec(tv_sec: now.tv_sec + nanoseconds / 1_000_000_000 + total / 1_000_000_000,
                        tv_nsec: total % 1_000_000_000)
    }
}

/// A queue's counters, for the state report.
public struct QueueStatistics: Sendable {
    public var load = 0
    public var capacity = 0
    public var highWater = 0
    /// Elements refused because the queue was full.
    public var refused = 0
    fileprivate var refusalsReported = 0
}
