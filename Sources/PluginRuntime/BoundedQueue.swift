import AuditReading
import Threads

/// A first-in first-out queue between threads that refuses, rather than waits, when full.
///
/// The reading side of the plugin must never block (auditd would stall behind it), so
/// `offer` fails at once when `capacity` would be exceeded and the refusal is counted;
/// the taking side waits, with a timeout, on a monotonic clock.
public final class BoundedQueue<Element>: @unchecked Sendable {
    /// The most the queue holds, in the units of `cost`.
    public let capacity: Int
    private let cost: (Element) -> Int
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var items = FIFOQueue<Element>()
    private var load = 0
    private var closed = false
    private var woken = false
    private var statistics = QueueStatistics()

    /// A queue holding at most `capacity` units, where an element costs `cost(element)`.
    public init(capacity: Int, cost: @escaping (Element) -> Int) {
        self.capacity = capacity
        self.cost = cost
    }

    /// Appends `element` unless that would exceed the capacity or the queue is closed;
    /// never waits.
    public func offer(_ element: Element) -> Bool {
        let units = cost(element)
        return lock.withLock {
            guard !closed, load + units <= capacity else {
                statistics.refused += 1
                return false
            }
            items.append(element)
            load += units
            statistics.highWater = max(statistics.highWater, load)
            lock.broadcast()
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
        lock.withLock {
            let deadline = ConditionLock.deadline(after: timeout)
            while items.isEmpty && !closed && !woken && lock.wait(until: deadline) {}
            woken = false
            guard let element = items.first else { return closed ? .closed : .nothing }
            items.removeFirst()
            load -= cost(element)
            return .element(element)
        }
    }

    /// Waits up to `timeout` nanoseconds, returning early when the queue is closed or woken.
    public func pause(timeout: Int) {
        lock.withLock {
            let deadline = ConditionLock.deadline(after: timeout)
            while !closed && !woken && lock.wait(until: deadline) {}
            woken = false
        }
    }

    /// Makes a waiting `take` or `pause` return now.
    public func wake() {
        lock.withLock {
            woken = true
            lock.broadcast()
        }
    }

    /// No more elements will be accepted; `take` returns the rest, then `.closed`.
    public func close() {
        lock.withLock {
            closed = true
            lock.broadcast()
        }
    }

    public var isClosed: Bool { lock.withLock { closed } }

    /// The units queued now, the most ever queued, and what was refused.
    public var snapshot: QueueStatistics {
        lock.withLock {
            var copy = statistics
            copy.load = load
            copy.capacity = capacity
            return copy
        }
    }

    /// Returns the count of refusals since the last call, and forgets it.
    public func takeRefusalsSinceLastCall() -> Int {
        lock.withLock {
            defer { statistics.refusalsReported = statistics.refused }
            return statistics.refused - statistics.refusalsReported
        }
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
