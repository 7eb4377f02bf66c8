import Glibc

/// Regroups interleaved record lines into whole events before libauparse sees them.
///
/// libauparse decides when an event is complete by a rule (an end-marker record, a
/// one-record type, or `end_of_event_timeout` seconds of stream time passing), but it
/// keeps the events it is building in an array that every incoming record scans, and it
/// releases events lowest timestamp first. audit.log has no EOE records, and events of
/// old kernels have no PROCTITLE either, so thousands of events stay open at once and
/// parsing slows to a crawl. This type applies the same rule with a hash table and hands
/// libauparse each event contiguous and closed by an EOE record (added when the event
/// lacks one), so libauparse holds one event at a time and groups exactly as before.
public struct EventRegrouper {
    /// `end_of_event_timeout`: seconds of stream time after which an open event is complete.
    public let endOfEventTimeout: UInt64
    /// Open events beyond this number are completed oldest first (counted in `forcedCompletions`).
    public let maximumOpenEvents: Int

    /// Decides, from what the record lines say, what happens to each complete event;
    /// nil parses every event.
    public let selector: ((EventSummary) -> EventDisposition)?
    /// Bytes of held events kept at most (the longest-held are dropped beyond), and the
    /// largest event held: a bigger one is parsed at once instead.
    public let maximumHeldBytes: Int
    public static let maximumHeldEventSize = 1 << 16

    /// Events completed because too many were open at once.
    public private(set) var forcedCompletions = 0
    /// Records left out of events already at `maximumRecordsPerEvent`,
    /// `maximumPathRecordsPerEvent` or `maximumEventBytes`.
    public private(set) var recordsBeyondEventLimits = 0

    /// One event's records at most, its PATH records at most, and its bytes at most. The
    /// kernel's largest events are execs with long argument lists (about 550 EXECVE
    /// records for Linux's 2 MiB of arguments) and renames (five PATH records); a record
    /// beyond these is counted and left out, so that no forged event (an aggregator
    /// receives any records a compromised host sends) costs gigabytes or a pass per PATH
    /// item over millions of them.
    public static let maximumRecordsPerEvent = 4096
    public static let maximumPathRecordsPerEvent = 64
    public static let maximumEventBytes = 8 << 20
    /// Events completed (what libauparse would have assembled from these lines).
    public private(set) var completedEvents = 0
    /// The time of the newest record seen (stream time, seconds).
    public private(set) var newestSeconds: UInt64 = 0

    private struct ProcessKey: Hashable {
        var node: Int32
        var pid: UInt64
    }

    /// Held events' lines (EOE included) by process, and the order they were held in
    /// (a key may recur there after its event was parsed). Bound:
    /// `maximumHeldBytes`, the longest-held dropped first. Cost per event: a hash look-up;
    /// the order is compacted when stale keys outnumber live ones (amortised O(1)).
    private var held: [ProcessKey: [UInt8]] = [:]
    private var heldOrder = FIFOQueue<ProcessKey>()
    private var heldBytes = 0

    private struct OpenEvent {
        var id: EventID
        var lines: [UInt8] = []
        var lastType = MessageType(rawValue: 0)
        var isOpen = false
        var summary = EventSummary()
        /// An io_uring operation's PATH records: its URINGOP record's `items=`, and how
        /// many have come. Such an event has no PROCTITLE to end it (and audit.log no EOE):
        /// it is complete with its last PATH record, not 2 s of log time later, after
        /// events that came after it.
        var uringItems: Int?
        var pathsSeen = 0
        var records = 0
        /// Which opening of this slot the event is (slots are reused).
        var generation = 0
    }

    /// The open events, by slot and by identity. Bound: `maximumOpenEvents` (then the
    /// oldest is completed). Cost per record: none when it belongs to the event of the
    /// record before it, else a hash look-up; opening and completing are O(1).
    private var openBySlot: [OpenEvent] = []
    private var slotByID: [EventID: Int] = [:]
    private var freeSlots: [Int] = []
    /// Open events in arrival order: each slot with the opening it
    /// was (entries of events completed since, or of a slot opened again, are skipped).
    /// Bound: one entry per event opened since the last compaction, which
    /// `completeExpired` (at most once per second of stream time) and taking from the head
    /// keep within twice the open events. Cost per event: O(1) amortised, so that a flood
    /// of events beyond `maximumOpenEvents` completes each of them in constant time.
    private var arrivals = FIFOQueue<(slot: Int, generation: Int)>()
    private var openings = 0
    private var oldestOpenSeconds = UInt64.max
    private var lastSlot = -1
    private var nodes = NodeNames()
    private var types = MessageTypeTable()

    public init(endOfEventTimeout: UInt64 = 2, maximumOpenEvents: Int = 100_000, maximumHeldBytes: Int = 8 << 20,
                selector: ((EventSummary) -> EventDisposition)? = nil) {
        self.endOfEventTimeout = endOfEventTimeout
        self.maximumOpenEvents = maximumOpenEvents
        self.maximumHeldBytes = maximumHeldBytes
        self.selector = selector
    }

    /// Adds one record line (without its newline). Complete events are appended to
    /// `output` as record lines ending in an EOE record. Returns false when libauparse
    /// would skip the line (no parsable `msg=audit(...)` header).
    public mutating func add(line: UnsafeRawBufferPointer, to output: inout [UInt8]) -> Bool {
        guard let header = RecordHeader.parse(line) else { return false }
        newestSeconds = max(newestSeconds, header.seconds)
        let id = EventID(seconds: header.seconds, milliseconds: header.milliseconds,
                         serial: header.serial, node: nodes.index(of: header.node, in: line))
        let type = types.type(in: line, header.typeName)

        let slot: Int
        if lastSlot >= 0, openBySlot[lastSlot].isOpen, openBySlot[lastSlot].id == id {
            slot = lastSlot
        } else if let existing = slotByID[id] {
            slot = existing
        } else if type == .endOfEvent {
            // A lone EOE whose event is already complete: libauparse discards it too.
            return true
        } else {
            slot = open(id)
        }
        lastSlot = slot
        if openBySlot[slot].records < Self.maximumRecordsPerEvent,
           type != .path || openBySlot[slot].pathsSeen < Self.maximumPathRecordsPerEvent,
           openBySlot[slot].lines.count + line.count < Self.maximumEventBytes {
            openBySlot[slot].records += 1
            openBySlot[slot].lines.append(contentsOf: line)
            openBySlot[slot].lines.append(UInt8(ascii: "\n"))
            openBySlot[slot].lastType = type
            if selector != nil { openBySlot[slot].summary.note(type, line) }
            if type == .uringOperation {
                openBySlot[slot].uringItems = line.decimalField(" items=")
            } else if type == .path {
                openBySlot[slot].pathsSeen += 1
            }
        } else {
            // Left out, but an end record still ends the event.
            recordsBeyondEventLimits += 1
        }
        if type.endsEvent || openBySlot[slot].uringItems.map({ $0 > 0 && openBySlot[slot].pathsSeen >= $0 }) == true {
            complete(slot, to: &output)
        }

        if header.seconds >= oldestOpenSeconds &+ endOfEventTimeout {
            completeExpired(now: header.seconds, to: &output)
        }
        while slotByID.count > maximumOpenEvents, let oldest = takeOldestArrival() {
            forcedCompletions += 1
            complete(oldest, to: &output)
        }
        return true
    }

    /// Completes every open event older than `endOfEventTimeout` at stream time `now`
    /// (seconds): the plugin calls this when its input drains.
    public mutating func completeExpired(now: UInt64, to output: inout [UInt8]) {
        var oldest = UInt64.max
        for arrival in arrivals.elements where isOpen(arrival) {
            let slot = arrival.slot
            let seconds = openBySlot[slot].id.seconds
            if seconds &+ endOfEventTimeout <= now {
                complete(slot, to: &output)
            } else {
                oldest = min(oldest, seconds)
            }
        }
        sweepArrivals()
        oldestOpenSeconds = oldest
    }

    /// Completes every open event, in arrival order (end of input, or an ausearch block).
    public mutating func completeAll(to output: inout [UInt8]) {
        for arrival in arrivals.elements where isOpen(arrival) {
            complete(arrival.slot, to: &output)
        }
        arrivals.removeAll()
        oldestOpenSeconds = .max
    }

    private mutating func open(_ id: EventID) -> Int {
        let slot: Int
        if let reused = freeSlots.popLast() {
            slot = reused
            openBySlot[slot].id = id
        } else {
            slot = openBySlot.count
            openBySlot.append(OpenEvent(id: id))
        }
        openBySlot[slot].isOpen = true
        openings += 1
        openBySlot[slot].generation = openings
        slotByID[id] = slot
        if arrivals.count > 2 * slotByID.count + 4096 { sweepArrivals() }
        arrivals.append((slot, openings))
        oldestOpenSeconds = min(oldestOpenSeconds, id.seconds)
        return slot
    }

    private mutating func complete(_ slot: Int, to output: inout [UInt8]) {
        completedEvents += 1
        var summary = openBySlot[slot].summary
        let id = openBySlot[slot].id
        if selector != nil {
            (summary.seconds, summary.milliseconds, summary.serial) = (id.seconds, id.milliseconds, id.serial)
            summary.node = id.node == EventID.noNode ? nil : nodes.name(id.node)
        }
        let key = summary.pid.map { ProcessKey(node: id.node, pid: $0) }
        switch selector?(summary) ?? .parse {
        case .skip:
            break
        case .hold where key != nil && openBySlot[slot].lines.count <= Self.maximumHeldEventSize:
            var lines = openBySlot[slot].lines
            closeEvent(slot, in: &lines)
            hold(lines, for: key!)
        case .parse, .hold:
            if let key, let earlier = held.removeValue(forKey: key) {
                heldBytes -= earlier.count
                output.append(contentsOf: earlier)
            }
            output.append(contentsOf: openBySlot[slot].lines)
            closeEvent(slot, in: &output)
        }
        openBySlot[slot].summary = EventSummary()
        openBySlot[slot].uringItems = nil
        openBySlot[slot].pathsSeen = 0
        openBySlot[slot].records = 0
        openBySlot[slot].lines.removeAll(keepingCapacity: openBySlot[slot].lines.capacity <= 1 << 16)
        openBySlot[slot].isOpen = false
        slotByID[openBySlot[slot].id] = nil
        freeSlots.append(slot)
        if slotByID.isEmpty {
            arrivals.removeAll()
            oldestOpenSeconds = .max
        }
    }

    /// Appends the EOE record that makes libauparse complete the event, unless it has one.
    private func closeEvent(_ slot: Int, in output: inout [UInt8]) {
        if openBySlot[slot].lastType != .endOfEvent { appendEndOfEvent(openBySlot[slot].id, to: &output) }
    }

    private mutating func hold(_ lines: [UInt8], for key: ProcessKey) {
        heldBytes += lines.count
        if let replaced = held.updateValue(lines, forKey: key) {
            heldBytes -= replaced.count
        } else {
            heldOrder.append(key)
        }
        // Beyond the limit, drop the longest-held processes' events.
        while heldBytes > maximumHeldBytes, let oldest = heldOrder.first {
            if let dropped = held.removeValue(forKey: oldest) { heldBytes -= dropped.count }
            heldOrder.removeFirst()
        }
        // Keys whose event was parsed linger in the order list; compact it now and then.
        if heldOrder.count > 2 * held.count + 4096 { heldOrder.removeAll { held[$0] == nil } }
    }

    private func isOpen(_ arrival: (slot: Int, generation: Int)) -> Bool {
        Self.isOpen(arrival, in: openBySlot)
    }

    private static func isOpen(_ arrival: (slot: Int, generation: Int), in slots: [OpenEvent]) -> Bool {
        slots[arrival.slot].isOpen && slots[arrival.slot].generation == arrival.generation
    }

    /// Drops the entries of events no longer open.
    private mutating func sweepArrivals() {
        let slots = openBySlot
        arrivals.removeAll { !Self.isOpen($0, in: slots) }
    }

    /// The slot of the oldest open event, taken from the arrival order.
    private mutating func takeOldestArrival() -> Int? {
        while let arrival = arrivals.first {
            arrivals.removeFirst()
            if isOpen(arrival) { return arrival.slot }
        }
        return nil
    }

    /// `[node=NAME ]type=EOE msg=audit(SEC.MSEC:SERIAL): `: libauparse appends it to the
    /// open event with the same identity and marks that event complete.
    private func appendEndOfEvent(_ id: EventID, to output: inout [UInt8]) {
        if id.node != EventID.noNode {
            output.append(contentsOf: "node=".utf8)
            output.append(contentsOf: nodes.name(id.node))
            output.append(UInt8(ascii: " "))
        }
        output.append(contentsOf: "type=EOE msg=audit(".utf8)
        output.appendDecimal(id.seconds)
        output.append(UInt8(ascii: "."))
        if id.milliseconds < 100 { output.append(UInt8(ascii: "0")) }
        if id.milliseconds < 10 { output.append(UInt8(ascii: "0")) }
        output.appendDecimal(UInt64(id.milliseconds))
        output.append(UInt8(ascii: ":"))
        output.appendDecimal(id.serial)
        output.append(contentsOf: "): \n".utf8)
    }
}

/// Interns `node=` names so that an event identity is a few integers.
struct NodeNames {
    private var names: [[UInt8]] = []
    private var indexByName: [[UInt8]: Int32] = [:]
    private var last: Int32 = EventID.noNode

    mutating func index(of range: Range<Int>?, in line: UnsafeRawBufferPointer) -> Int32 {
        guard let range else { return EventID.noNode }
        let name = UnsafeRawBufferPointer(rebasing: line[range])
        if last != EventID.noNode, names[Int(last)].elementsEqual(name) { return last }
        let key = [UInt8](name)
        if let known = indexByName[key] {
            last = known
            return known
        }
        let index = Int32(names.count)
        names.append(key)
        indexByName[key] = index
        last = index
        return index
    }

    func name(_ index: Int32) -> [UInt8] { names[Int(index)] }
}
