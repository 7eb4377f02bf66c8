import Glibc
import Synchronization
import Threads

/// Drains the plugin's standard input (auditd's record stream) into a bounded queue on a
/// thread of its own, so auditd is never kept waiting by the work behind it.
///
/// Only whole lines are queued: the tail of a read that ends mid-line waits for the rest.
/// When the queue is full the lines read are dropped and counted; a record is never cut
/// in two, so what remains still parses as the records auditd sent.
public final class InputPump: @unchecked Sendable {
    public let queue: BoundedQueue<[UInt8]>
    private let descriptor: CInt
    /// Records (lines) dropped because the queue was full.
    public let droppedRecords = Atomic<Int>(0)
    /// Set once standard input reached its end or failed.
    public let finished = Atomic<Bool>(false)
    /// A reason when reading failed (not at a plain end of input).
    public private(set) var failure: String?

    /// The pause after a small read: at most this much latency, at most 200 small reads
    /// a second.
    public static let pauseMicroseconds: UInt32 = 5000
    /// A read at least this large is followed by the next at once.
    static let largeRead = 16 << 10

    /// A pump reading `descriptor` into a queue of at most `capacity` bytes.
    public init(descriptor: CInt = STDIN_FILENO, capacity: Int) {
        self.descriptor = descriptor
        queue = BoundedQueue(capacity: capacity) { $0.count }
    }

    public func start() {
        PosixThread.detach(named: "lkm-stdin") { [self] in pump() }
    }

    private func pump() {
        // auditd's largest record is 8970 bytes; a read takes many at once when they wait.
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var partial: [UInt8] = []
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                failure = "reading standard input: \(String(cString: strerror(errno)))"
                break
            }
            if count == 0 { break }
            defer {
                // auditd writes one record per write: without a pause every record would
                // cost this thread and the processing thread a wake-up each (9 % of a
                // core per 1,000 events/s). Meanwhile records wait in the socket buffer.
                // That buffer is charged per record (about 1 KiB each, whatever its
                // length) against auditd's 208 KiB send buffer: a large read means records
                // are arriving fast, and the next read must come at once or auditd blocks.
                if count < Self.largeRead { usleep(Self.pauseMicroseconds) }
            }
            let received = buffer[..<count]
            guard let lastNewline = received.lastIndex(of: UInt8(ascii: "\n")) else {
                partial += received
                // Too long to be a record: pass it on for the reader to count and skip.
                if partial.count > 1 << 20 { enqueue(&partial) }
                continue
            }
            var lines = partial
            partial = Array(received[(lastNewline + 1)...])
            lines += received[...lastNewline]
            enqueue(&lines)
        }
        // A last line without its newline (auditd killed mid-write) is still a record.
        if !partial.isEmpty { enqueue(&partial) }
        finished.store(true, ordering: .releasing)
        queue.close()
    }

    private func enqueue(_ lines: inout [UInt8]) {
        if !queue.offer(lines) {
            let records = lines.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            droppedRecords.add(max(records, 1), ordering: .relaxed)
        }
        lines = []
    }
}
