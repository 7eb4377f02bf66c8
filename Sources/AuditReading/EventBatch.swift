/// Events copied out of libauparse, in the order it delivered them, to be read after its
/// callbacks have returned: on another thread (`DetectionPipeline`, replay's second core).
///
/// One buffer holds every record's text and ENRICHED part, so a batch costs a few
/// allocations however many events it holds.
public struct EventBatch: Sendable {
    private var bytes: [UInt8] = []
    private var records: [Record] = []
    private var events: [Event] = []

    private struct Record: Sendable {
        var type: MessageType
        var text: Range<Int>?
        var enrichment: Range<Int>?
    }

    private struct Event: Sendable {
        var records: Range<Int>
        var seconds: Int
        var milliseconds: Int
        var serial: UInt64
        var node: String?
    }

    /// A batch that will be handed over once it holds about `expectedBytes` of record
    /// text: grown once, not by doubling (a record is about 128 bytes, an event 512).
    public init(expectedBytes: Int) {
        bytes.reserveCapacity(expectedBytes + 1 << 16)
        records.reserveCapacity(expectedBytes / 128)
        events.reserveCapacity(expectedBytes / 512)
    }

    /// Events held.
    public var count: Int { events.count }
    /// Bytes of record text held.
    public var byteCount: Int { bytes.count }

    /// Copies `event`, which is only valid during libauparse's callback.
    public mutating func append(_ event: AuditEvent) {
        let first = records.count
        for record in event.records {
            var copied = Record(type: record.type, text: nil, enrichment: nil)
            if let text = record.text {
                copied.text = bytes.count ..< bytes.count + text.bytes.count
                bytes.append(contentsOf: text.bytes)
            }
            if let enrichment = record.enrichment {
                copied.enrichment = bytes.count ..< bytes.count + enrichment.bytes.count
                bytes.append(contentsOf: enrichment.bytes)
            }
            records.append(copied)
        }
        let stamp = event.timestamp
        events.append(Event(records: first ..< records.count, seconds: stamp.seconds, milliseconds: stamp.milliseconds,
                            serial: stamp.serial, node: stamp.node))
    }

    /// Calls `body` with each event in order, as libauparse delivered it; each is valid
    /// during its call.
    public func forEach(_ body: (AuditEvent) -> Void) {
        bytes.withUnsafeBytes { base in
            func view(_ range: Range<Int>?) -> FieldText? {
                range.map { FieldText(bytes: UnsafeRawBufferPointer(rebasing: base[$0])) }
            }
            var views: [AuditRecord] = []
            for event in events {
                views.removeAll(keepingCapacity: true)
                for record in records[event.records] {
                    views.append(AuditRecord(type: record.type, text: view(record.text), enrichment: view(record.enrichment)))
                }
                views.withUnsafeBufferPointer { records in
                    body(AuditEvent(records: records, timestamp: (event.seconds, event.milliseconds, event.serial, event.node)))
                }
            }
        }
    }
}
