import AuditReading
import Glibc

/// A first-in first-out queue between two threads that waits: `push` while `capacity`
/// elements are queued, `pop` until there is one. Replay's reading thread may wait on its
/// detecting thread and the other way round; the plugin, which must never wait on its
/// outputs, uses a queue that refuses instead.
final class WaitingQueue<Element>: @unchecked Sendable {
    let capacity: Int
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `lock`.
    private var items = FIFOQueue<Element>()
    private var closed = false

    init(capacity: Int) {
        self.capacity = capacity
        pthread_mutex_init(lock, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(lock)
        lock.deallocate()
        changed.deallocate()
    }

    /// Appends `element`, first waiting while the queue is full; dropped once closed.
    func push(_ element: Element) {
        locked {
            while !closed && items.count >= capacity { pthread_cond_wait(changed, lock) }
            guard !closed else { return }
            items.append(element)
            pthread_cond_broadcast(changed)
        }
    }

    /// The oldest element, waiting for one; nil once the queue is closed and empty.
    func pop() -> Element? {
        locked {
            while !closed && items.isEmpty { pthread_cond_wait(changed, lock) }
            guard let element = items.first else { return nil }
            items.removeFirst()
            pthread_cond_broadcast(changed)
            return element
        }
    }

    /// No more elements: `pop` returns what is queued, then nil.
    func close() {
        locked {
            closed = true
            pthread_cond_broadcast(changed)
        }
    }

    private func locked<Result>(_ body: () -> Result) -> Result {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }
}
