import AuditReading
import FileEvents

/// The identities of events already alerted on, so that an event seen twice alerts once,
/// in bounded memory.
///
/// Duplicates come from overlapping inputs (a log and an extract of it, a block repeated),
/// which repeat an event at its own log time. So an identity is kept while it is within
/// `window` seconds of log time of the newest alerted event, and at most `capacity` are
/// kept (the oldest go first): a flood of alerts costs at most about `capacity` × 40
/// bytes here, whatever its size. A copy of an event read after more than `capacity`
/// newer alerts alerts again. Cost per alert: a set look-up and insert; evictions from
/// the head of the arrival order, amortised O(1).
/// An identity is a 64-bit hash of host, event id and path (an exchange rename makes two
/// file events of one audit event, told apart by path); two distinct events colliding,
/// one chance in 2^64 per pair, would make the second a duplicate.
public struct AlertedEvents: Sendable {
    /// Defaults: an hour of log time, 65,536 identities (about 2.5 MiB at most).
    public static let defaultWindow = 3600
    public static let defaultCapacity = 1 << 16

    public let window: Int
    public let capacity: Int
    private var identities: Set<UInt64> = []
    /// Identities in arrival order, with their event's time, for eviction.
    private var order = FIFOQueue<(seconds: Int, identity: UInt64)>()
    private var newest = Int.min

    public init(window: Int = defaultWindow, capacity: Int = defaultCapacity) {
        self.window = window
        self.capacity = max(1, capacity)
    }

    /// The number of identities held.
    public var count: Int { identities.count }

    /// Adds `event`'s identity; false when it was already there.
    public mutating func insert(_ event: FileEvent) -> Bool {
        insert(identity: Self.identity(of: event), seconds: event.seconds)
    }

    /// Adds an identity (`identity(_:)`) of an event at `seconds` of log time; false when
    /// it was already there.
    public mutating func insert(identity: UInt64, seconds: Int) -> Bool {
        guard !identities.contains(identity) else { return false }
        newest = max(newest, seconds)
        while let oldest = order.first, order.count >= capacity || oldest.seconds < newest - window {
            identities.remove(oldest.identity)
            order.removeFirst()
        }
        identities.insert(identity)
        order.append((seconds, identity))
        return true
    }

    static func identity(of event: FileEvent) -> UInt64 {
        var id: [UInt8] = []
        event.appendEventID(to: &id)
        return identity([Array((event.node ?? "").utf8), id, (event.file.path ?? event.file.loggedName)?.bytes ?? []])
    }

    /// FNV-1a over the identity's parts (host, event id, what tells apart two alerts of
    /// one event), each followed by a separator byte.
    public static func identity(_ parts: [[UInt8]]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for part in parts {
            for byte in part { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
            hash = (hash ^ 0xFF) &* 0x100_0000_01B3
        }
        return hash
    }
}
