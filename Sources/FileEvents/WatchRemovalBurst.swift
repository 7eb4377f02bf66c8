/// The changes to the audit rules one sender made in one burst (records of one process
/// and login session, each within `WatchRemovalBurst.gap` seconds of the one before) that
/// removed watches of the detector or switched auditing off: one alert, however many
/// rules went (a routine `augenrules --load` removes and adds back every rule, 59 records
/// here). It also says whether the watches came back within the burst, and by whom.
public struct WatchRemovalBurst: Sendable {
    /// Seconds of stream time without a further rule change that end a burst. The plugin
    /// puts removed watches back a second after the last removal, so its additions fall
    /// within the burst they answer.
    public static let gap = 2.0

    /// The first removal: its time, identity and sender.
    public var first: AuditRuleChange
    /// The time of the last change in the burst (seconds since the epoch).
    public var last: Double
    /// Rules removed, by filter list name (`exit`, `io_uring`).
    public var removed: [String: Int] = [:]
    public var disablesAuditing = false
    /// Rules of the detector's keys added in the burst (a reload putting them back, or
    /// the plugin re-arming), and the first change that added one.
    public var restored = 0
    public var restoredBy: AuditRuleChange?

    public init(first: AuditRuleChange) {
        self.first = first
        last = first.time
    }

    /// The total of rules removed.
    public var removedCount: Int { removed.values.reduce(0, +) }

    /// Adds a change of the burst: a removal (`removes`) or an addition of a watch.
    public mutating func add(_ change: AuditRuleChange, removes: Bool) {
        last = max(last, change.time)
        if removes {
            if change.disablesAuditing { disablesAuditing = true } else { removed[change.listName ?? "-", default: 0] += 1 }
        } else {
            restored += 1
            if restoredBy == nil { restoredBy = change }
        }
    }
}

extension AuditRuleChange {
    /// The record's time in seconds since the epoch.
    public var time: Double { Double(seconds) + Double(milliseconds) / 1000 }

    /// Whether the change added a rule.
    public var addsRule: Bool { succeeded && operation == "add_rule" }
}
