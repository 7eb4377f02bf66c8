import AuditReading
import HostFiles

/// File events waiting (replay) for the stream to name a directory they are relative to,
/// indexed by that directory, so that an event naming a directory costs only the events
/// it unblocks.
///
/// Bound: `capacity` events; beyond it the oldest leaves unresolved. Cost per file event
/// that waits: O(1) amortised (a dictionary insert and an append). Cost per directory
/// named: O(1) when nothing awaits it, else O(k log k) for the k events it releases. An
/// event whose file and rename source await two directories is listed under both; the
/// entry it leaves behind when it goes is dropped when that directory is named or the
/// event's turn in the eviction order comes.
struct WaitingEvents {
    let capacity: Int
    /// The waiting events by arrival number; arrival order is output order.
    private var events: [Int: FileEvent] = [:]
    /// Arrival numbers by the directory awaited, in arrival order.
    private var byDirectory: [DirectoryKey: FIFOQueue<Int>] = [:]
    /// Arrival numbers, oldest first, for eviction; those already gone are skipped.
    private var order = FIFOQueue<Int>()
    private var next = 0

    init(capacity: Int) { self.capacity = capacity }

    var isEmpty: Bool { events.isEmpty }
    var count: Int { events.count }

    /// Adds `event`, which awaits its file's or its source's directory; returns the
    /// oldest event when that makes one too many.
    mutating func add(_ event: FileEvent) -> FileEvent? {
        let evicted = events.count >= capacity ? removeOldest() : nil
        let number = next
        next += 1
        events[number] = event
        order.append(number)
        for key in [event.file.awaitedDirectory, event.original?.awaitedDirectory].compactMap({ $0 }) {
            byDirectory[key, default: FIFOQueue()].append(number)
        }
        return evicted
    }

    /// Places the events awaiting the directories `named` in them, oldest first, and
    /// returns those no longer awaiting anything. The first path named for a key counts.
    mutating func release(_ named: [(key: DirectoryKey, path: RawPath)], place: (inout EventFile, RawPath) -> Void)
        -> [FileEvent] {
        var paths: [DirectoryKey: RawPath] = [:]
        var numbers: [Int] = []
        for (key, path) in named where paths[key] == nil {
            guard let waiting = byDirectory.removeValue(forKey: key) else { continue }
            paths[key] = path
            numbers += waiting.elements
        }
        guard !numbers.isEmpty else { return [] }
        var released: [FileEvent] = []
        for number in Set(numbers).sorted() {
            guard var event = events[number] else { continue }
            if let key = event.file.awaitedDirectory, let path = paths[key] { place(&event.file, path) }
            if let key = event.original?.awaitedDirectory, let path = paths[key] { place(&event.original!, path) }
            if event.file.awaitedDirectory == nil && event.original?.awaitedDirectory == nil {
                events[number] = nil
                released.append(event)
            } else {
                events[number] = event
            }
        }
        // Released events stay in the eviction order (and, awaiting two directories, in
        // the other's list) until their turn; past twice the live ones, they are swept.
        if order.count > 2 * events.count + 4096 {
            order.removeAll { events[$0] == nil }
            for key in Array(byDirectory.keys) {
                byDirectory[key]!.removeAll { events[$0] == nil }
                if byDirectory[key]!.isEmpty { byDirectory[key] = nil }
            }
        }
        return released
    }

    /// Every event still waiting, oldest first, and empties the table.
    mutating func removeAll() -> [FileEvent] {
        let left = order.elements.compactMap { events[$0] }
        self = WaitingEvents(capacity: capacity)
        return left
    }

    private mutating func removeOldest() -> FileEvent? {
        while let number = order.first {
            order.removeFirst()
            guard let event = events.removeValue(forKey: number) else { continue }
            // Every number below this one has gone: what precedes it in a list is stale.
            for key in [event.file.awaitedDirectory, event.original?.awaitedDirectory].compactMap({ $0 }) {
                while let first = byDirectory[key]?.first, first <= number { byDirectory[key]!.removeFirst() }
                if byDirectory[key]?.isEmpty == true { byDirectory[key] = nil }
            }
            return event
        }
        return nil
    }
}
