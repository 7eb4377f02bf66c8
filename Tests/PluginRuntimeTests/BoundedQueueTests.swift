import Foundation
import PluginRuntime
import Testing

@Suite("Bounded queue between threads")
struct BoundedQueueTests {
    @Test("offers beyond the capacity are refused at once and counted; takes are first in, first out")
    func capacity() {
        let queue = BoundedQueue<[UInt8]>(capacity: 10) { $0.count }
        #expect(queue.offer([1, 2, 3, 4]))
        #expect(queue.offer([5, 6, 7, 8, 9, 10]))
        #expect(!queue.offer([11]))
        #expect(queue.snapshot.refused == 1)
        #expect(queue.snapshot.highWater == 10)
        guard case .element(let first) = queue.take(timeout: 0) else { Issue.record("empty"); return }
        #expect(first == [1, 2, 3, 4])
        #expect(queue.offer([11, 12]))
        #expect(queue.takeRefusalsSinceLastCall() == 1)
        #expect(queue.takeRefusalsSinceLastCall() == 0)
        queue.close()
        #expect(!queue.offer([13]))
        guard case .element(let second) = queue.take(timeout: 0), case .element(let third) = queue.take(timeout: 0),
              case .closed = queue.take(timeout: 0) else { Issue.record("wrong sequence"); return }
        #expect(second == [5, 6, 7, 8, 9, 10] && third == [11, 12])
    }

    @Test("a waiting take returns on wake, on timeout, and with an element another thread offers")
    func waiting() {
        let queue = BoundedQueue<Int>(capacity: 4) { _ in 1 }
        if case .element = queue.take(timeout: 1_000_000) { Issue.record("an empty queue gave an element") }
        // A thread of its own: the test's own thread blocks in take, as the plugin's does.
        let producer = Thread {
            usleep(50_000)
            _ = queue.offer(7)
        }
        producer.start()
        guard case .element(let value) = queue.take(timeout: 5_000_000_000) else {
            Issue.record("nothing arrived")
            return
        }
        #expect(value == 7)
        queue.wake()
        guard case .nothing = queue.take(timeout: 5_000_000_000) else { Issue.record("wake did not end the wait"); return }
    }
}
