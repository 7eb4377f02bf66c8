import AuditReading
import Threads

/// A first-in first-out queue between two threads that waits: `push` while `capacity`
/// elements are queued, `pop` until there is one. Replay's reading thread may wait on its
/// detecting thread and the other way round; the plugin, which must never wait on its
/// outputs, uses a queue that refuses instead.
final class WaitingQueue<Element>: @unchecked Sendable {
    let capacity: Int
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var items = FIFOQueue<Element>()
    private var closed = false

    init(capacity: Int) { self.capacity = capacity }

    /// Appends `element`, first waiting while the queue is full; dropped once closed.
    func push(_ element: Element) {
        lock.withLock {
            while !closed && items.count >= capacity { lock.wait() }
            guard !closed else { return }
            items.append(element)
            lock.broadcast()
        }
    }

    /// The oldest element, waiting for one; nil once the queue is closed and empty.
    func pop() -> Element? {
        lock.withLock {
            while !closed && items.isEmpty { lock.wait() }
            guard let element = items.first else { return nil }
            items.removeFirst()
            lock.broadcast()
            return element
        }
    }

    /// No more elements: `pop` returns what is queued, then nil.
    func close() {
        lock.withLock {
            closed = true
            lock.broadcast()
        }
    }
}
