import AuditReading
import Threads

/// The detector on two cores, for reading logs offline (`replay`): the calling thread
/// reads, regroups and selects the records and has libauparse parse them; a second
/// thread normalises, evaluates and emits, in the order libauparse delivered the events.
/// The findings, and their order, are those of `Detector.reader` on one thread; the
/// reading side, libauparse's parsing above all, is then what sets the pace.
///
/// The threads meet once per batch (`defaultBatchBytes` of records): the reading thread hands
/// batch k over, then adopts what the detecting thread knew once it had processed batch
/// k - 1 (the directories it learned, the events it processed), waiting for that if need
/// be. The selection thus runs two batches ahead of the processing (more when the
/// directories known are many, `Detector.handOver`) whatever the threads' speeds, so
/// what it parses is the same from run to run. It never parses less than on one thread,
/// and may parse a little more: an event whose directories the processing has not yet
/// handed over is parsed.
public final class DetectionPipeline {
    /// Bytes of record text per batch: libauparse's feed size, large enough that the
    /// threads meet a few hundred times per 100 MiB.
    public static let defaultBatchBytes = 1 << 18
    private let batchBytes: Int

    /// The reader to read the inputs with (`AuditLogReader.read`), on this thread.
    public private(set) var reader: AuditLogReader!
    private let detector: Detector
    private let emit: (Finding) -> Void
    private var batch: EventBatch
    private var batchesHandedOver = 0
    private let batches = WaitingQueue<EventBatch>(capacity: 1)
    private let handOvers = WaitingQueue<Detector.HandOver?>(capacity: .max)
    private var thread: PosixThread?

    /// Findings go to `emit`, on the second thread, until `finish` returns. `batchBytes`
    /// and `directoriesPerBatch` (`Detector.handOver`) are for tests, which make the
    /// threads meet often, or hold hand-overs back.
    public init(detector: Detector, endOfEventTimeout: UInt64 = 2, batchBytes: Int = defaultBatchBytes,
                directoriesPerBatch: Int = 2048, emit: @escaping (Finding) -> Void) {
        self.detector = detector
        self.emit = emit
        self.batchBytes = batchBytes
        batch = EventBatch(expectedBytes: batchBytes)
        reader = AuditLogReader(endOfEventTimeout: endOfEventTimeout, selector: { [unowned detector] summary in
            detector.disposition(summary)
        }) { [unowned self] event in
            batch.append(event)
            if batch.byteCount >= batchBytes { handOverBatch() }
        }
        detector.beginHandOvers(directoriesPerBatch: directoriesPerBatch)
        start()
    }

    /// End of input: the last events are processed, the second thread ends, and the
    /// detector says what it still holds (`Detector.finish`), here.
    public func finish() {
        reader.finish()
        if batch.count > 0 { handOverBatch() }
        stop()
        detector.finish(emit: emit)
    }

    /// Reading failed: the second thread ends after the batches handed over, and nothing
    /// more is emitted.
    public func abandon() { stop() }

    private func handOverBatch() {
        batches.push(batch)
        batch = EventBatch(expectedBytes: batchBytes)
        batchesHandedOver += 1
        // One hand-over (or none, `Detector.handOver`) per batch processed, in order.
        if batchesHandedOver >= 2, case let handOver?? = handOvers.pop() { detector.adopt(handOver) }
    }

    private func stop() {
        guard let thread = thread.take() else { return }
        batches.close()
        thread.join()
        detector.endHandOvers()
    }

    // MARK: The second thread

    private func start() {
        // Only the second thread touches the detector's processing side, and the caller's
        // `emit`, until `stop` has joined it.
        final class Work: @unchecked Sendable {
            let body: () -> Void
            init(_ body: @escaping () -> Void) { self.body = body }
        }
        let work = Work { [detector, emit, batches, handOvers] in
            while let batch = batches.pop() {
                batch.forEach { detector.process($0, emit: emit) }
                handOvers.push(detector.handOver())
            }
        }
        thread = PosixThread.start(named: "lkm-detect") { work.body() }
    }
}
