import Glibc
import Outputs
import Synchronization
import Threads

/// Hands output lines to a sink on a thread of its own, through a bounded queue.
///
/// The processing thread only ever `offer`s: when the sink is slow or failing the queue
/// fills, further alerts are refused and counted ("withheld"), and reading from auditd
/// goes on. The output thread keeps the line in hand and retries it with a growing
/// pause (10 ms to 1 s); once a line gets through it says, in the output itself, how
/// many alerts were withheld meanwhile.
public final class AlertDispatcher: @unchecked Sendable {
    private let queue: BoundedQueue<[UInt8]>
    private let diagnostics: Diagnostics
    /// A new sink (after SIGHUP) or a reopen request, taken by the output thread.
    private let control = Mutex<Control>(Control())
    private let done = Atomic<Bool>(false)
    private let giveUp = Atomic<Bool>(false)
    /// 1 while the output thread holds a line it could not write yet.
    private let holding = Atomic<Int>(0)
    private let deliveredCount = Atomic<Int>(0)
    private let failureCount = Atomic<Int>(0)
    private let describing: Mutex<String>
    /// Why the line in hand cannot be written, while that lasts.
    private let currentFailure = Mutex<String?>(nil)
    /// Formats the "withheld" notice in the output's own format.
    private let noticeLine: Mutex<@Sendable (String) -> [UInt8]>

    private struct Control: @unchecked Sendable {
        var replacement: AlertSink?
        var reopen = false
    }

    public init(sink: AlertSink, capacity: Int, notice: @escaping @Sendable (String) -> [UInt8], diagnostics: Diagnostics) {
        queue = BoundedQueue(capacity: capacity) { _ in 1 }
        self.diagnostics = diagnostics
        describing = Mutex(sink.description)
        noticeLine = Mutex(notice)
        let box = SinkBox(sink)
        PosixThread.detach(named: "lkm-output") { [self] in
            // Below the stdin pump, as the processing thread (see Plugin.run).
            PosixThread.lowerPriority(by: 5)
            deliver(to: box.sink)
        }
    }

    /// Queues `line`; false (counted as withheld) when the queue is full.
    @discardableResult
    public func offer(_ line: [UInt8]) -> Bool { queue.offer(line) }

    /// Switches to `sink` (nil: reopens the current one) before the next line.
    public func reconfigure(sink: AlertSink?, notice: (@Sendable (String) -> [UInt8])? = nil) {
        control.withLock { control in
            if let sink { control.replacement = sink } else { control.reopen = true }
        }
        if let sink { describing.withLock { $0 = sink.description } }
        if let notice { noticeLine.withLock { $0 = notice } }
        queue.wake()
    }

    /// Stops taking lines and waits up to `timeout` nanoseconds for the queue to empty.
    /// Returns the lines that could not be delivered.
    public func finish(timeout: Int) -> Int {
        queue.close()
        var waited = 0
        while !done.load(ordering: .acquiring) && waited < timeout {
            usleep(10_000)
            waited += 10_000_000
        }
        giveUp.store(true, ordering: .releasing)
        return queue.snapshot.load + holding.load(ordering: .acquiring)
    }

    public var statistics: Statistics {
        let queued = queue.snapshot
        return Statistics(sink: describing.withLock { $0 }, delivered: deliveredCount.load(ordering: .relaxed),
                          withheld: queued.refused, failures: failureCount.load(ordering: .relaxed),
                          failing: currentFailure.withLock { $0 },
                          queued: queued.load, highWater: queued.highWater, capacity: queued.capacity)
    }

    public struct Statistics: Sendable {
        public var sink: String
        public var delivered: Int
        /// Lines refused because the queue was full.
        public var withheld: Int
        /// Failed attempts to write (each retried).
        public var failures: Int
        /// The error the output fails with now; nil while it works.
        public var failing: String?
        public var queued: Int
        public var highWater: Int
        public var capacity: Int
    }

    private final class SinkBox: @unchecked Sendable {
        let sink: AlertSink
        init(_ sink: AlertSink) { self.sink = sink }
    }

    private func deliver(to initialSink: AlertSink) {
        var sink = initialSink
        var inHand: [UInt8]?
        var isNotice = false
        var pause = 10_000_000
        var failing: OutputError?
        defer { done.store(true, ordering: .releasing) }
        while !giveUp.load(ordering: .acquiring) {
            let (replacement, reopen) = control.withLock { control in
                defer { control = Control() }
                return (control.replacement, control.reopen)
            }
            if let replacement { sink = replacement }
            if reopen { try? sink.reopen() }
            if inHand == nil {
                let withheld = queue.takeRefusalsSinceLastCall()
                if withheld > 0 {
                    // Said in the output itself, once it takes lines again.
                    inHand = noticeLine.withLock { $0 }(
                        "\(withheld) alert\(withheld == 1 ? "" : "s") withheld: the output queue was full")
                    isNotice = true
                } else {
                    switch queue.take(timeout: 1_000_000_000) {
                    case .element(let line):
                        inHand = line
                        isNotice = false
                        holding.store(1, ordering: .releasing)
                    case .nothing: continue
                    case .closed: return
                    }
                }
            }
            do {
                try sink.write(inHand!)
                inHand = nil
                holding.store(0, ordering: .releasing)
                if !isNotice { deliveredCount.add(1, ordering: .relaxed) }
                pause = 10_000_000
                if let error = failing {
                    failing = nil
                    currentFailure.withLock { $0 = nil }
                    diagnostics.info("\(sink.description) works again (it failed with \(error))")
                }
            } catch {
                failureCount.add(1, ordering: .relaxed)
                if failing == nil {
                    failing = error
                    currentFailure.withLock { $0 = error.description }
                    diagnostics.warning("\(sink.description) failed (\(error)); alerts are queued and retried")
                }
                // A closed queue no longer pauses: sleep instead, until `finish` gives up.
                if queue.isClosed { usleep(UInt32(pause / 1000)) } else { queue.pause(timeout: pause) }
                pause = min(pause * 2, 1_000_000_000)
            }
        }
    }
}
