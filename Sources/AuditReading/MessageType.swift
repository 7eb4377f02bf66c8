import CAudit
import Glibc

/// A kernel or user-space audit message type (`AUDIT_SYSCALL`, `AUDIT_PATH`, ...).
public struct MessageType: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let syscall = MessageType(rawValue: 1300)
    public static let path = MessageType(rawValue: 1302)
    /// A change to the kernel's audit rules (`op=add_rule`, `op=remove_rule`, ...).
    public static let configChange = MessageType(rawValue: 1305)
    public static let cwd = MessageType(rawValue: 1307)
    public static let execve = MessageType(rawValue: 1309)
    public static let endOfEvent = MessageType(rawValue: 1320)
    public static let proctitle = MessageType(rawValue: 1327)
    /// An io_uring operation audited by the io_uring exit filter list (kernel 5.16+).
    public static let uringOperation = MessageType(rawValue: 1336)
    /// auditd's own records about itself (`DAEMON_START` 1200 ... `DAEMON_ERR` 1209): written
    /// to its log only, never by the kernel.
    public static let daemonStart = MessageType(rawValue: 1200)
    public static let daemonEnd = MessageType(rawValue: 1201)
    public static let daemonAbort = MessageType(rawValue: 1202)
    public static let daemonRotate = MessageType(rawValue: 1205)
    public static let daemonResume = MessageType(rawValue: 1206)
    public static let daemonError = MessageType(rawValue: 1209)

    public var isDaemonRecord: Bool { (1200...1209).contains(rawValue) }

    /// Whether an event whose latest record has this type is complete, by libauparse 3.0.9's
    /// rule (`au_check_events`): an end marker (PROCTITLE, EOE) or a type that is always a
    /// one-record event (below AUDIT_FIRST_EVENT, AUDIT_KERNEL, anomalies, NetLabel).
    var endsEvent: Bool {
        let type = rawValue
        return type == 1327 || type == 1320 || type < 1300 || type >= 2100 || type == 2000
            || (1406...1419).contains(type)
    }
}

/// Maps `type=` names to message types with libaudit's own table, remembering answers:
/// a log uses a few dozen names, and each lookup in libaudit is a string search.
struct MessageTypeTable {
    private var known: [(name: [UInt8], type: MessageType)] = []
    /// Open addressing over `known` by a hash of the name: an index into `known` plus
    /// one, 0 for an empty slot. Twice as many slots as names are remembered at most, so
    /// a look-up costs the hash and a probe or two, not a pass over the names.
    private var slots = [Int32](repeating: 0, count: 2 * Self.capacity)
    private static let capacity = 512

    /// The type named by the bytes in `range` of `line`; a nil range (no `type=` field) is
    /// type 0, as libauparse leaves it.
    mutating func type(in line: UnsafeRawBufferPointer, _ range: Range<Int>?) -> MessageType {
        guard let range else { return MessageType(rawValue: 0) }
        let name = UnsafeRawBufferPointer(rebasing: line[range])
        // FNV-1a, 64 bits.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 {
            let entry = known[Int(slots[slot]) - 1]
            if entry.name.count == name.count, name.isEmpty
                || entry.name.withUnsafeBytes({ memcmp($0.baseAddress!, name.baseAddress!, name.count) }) == 0 {
                return entry.type
            }
            slot = (slot + 1) & mask
        }
        let key = [UInt8](name)
        let type = MessageType(rawValue: String(decoding: key, as: UTF8.self).withCString {
            audit_name_to_msg_type($0)
        })
        // Garbage names are not remembered, so a corrupt log cannot grow the table without bound.
        if type.rawValue >= 0 && known.count < Self.capacity {
            known.append((key, type))
            slots[slot] = Int32(known.count)
        }
        return type
    }
}
