import FileEvents

/// The alert cap: the seed rule's "max 100 alerts per 5-minute run" (Kibana's
/// `max_signals`) without the hole it leaves, where a flood of throw-away creations
/// buries the one alert that matters.
///
/// Alerts are counted per *group*: host, `process.executable` and the directory the file
/// went into. A flood comes from one program into one place; within `window` seconds each
/// group raises at most `allowance` alerts, so a flood from one group never withholds
/// another's. Over all groups, `ceiling` alerts per window is the last safety valve
/// against many groups at once; reaching it is reported at once. What a group has
/// withheld is summarised `firstSummaryDelay` seconds after its first withheld alert, and
/// then every `summaryInterval` while it goes on: how many, from when to when, and a
/// sample of distinct paths with their event ids (`ausearch -a` finds the rest).
///
/// Time is the caller's: the clock live, the events' own time in replay.
public struct AlertCap: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Alerts a group raises per window.
        public var allowance: Int
        public var window: Double
        /// Alerts all groups together raise per window; nil for no ceiling.
        public var ceiling: Int?
        public var firstSummaryDelay: Double
        public var summaryInterval: Double
        /// Distinct paths a summary names at most.
        public var sampleSize: Int

        public init(allowance: Int, window: Double, ceiling: Int?, firstSummaryDelay: Double = 2,
                    summaryInterval: Double, sampleSize: Int = 10) {
            self.allowance = allowance
            self.window = window
            self.ceiling = ceiling
            self.firstSummaryDelay = firstSummaryDelay
            self.summaryInterval = summaryInterval
            self.sampleSize = sampleSize
        }
    }

    /// Who and where an alert is counted for.
    public struct Group: Hashable, Sendable {
        public var host: String?
        public var executable: [UInt8]?
        /// The directory of `file.path` (or the known directory of an unknown name).
        public var directory: [UInt8]?
        /// The host's catch-all, used when `groupCapacity` groups are all busy.
        public var isOverflow = false

        public init(_ event: FileEvent) {
            host = event.node
            executable = event.process.executable
            directory = event.file.path.map(PathText.directory(of:)) ?? event.file.directory
        }

        init(overflowOf host: String?) {
            self.host = host
            isOverflow = true
        }
    }

    /// What one group withheld since its previous summary.
    public struct Summary: Sendable {
        public var group: Group
        /// Alerts withheld, and how many of them because the ceiling was reached.
        public var withheld = 0
        public var byCeiling = 0
        /// Event times of the first and last withheld alert (seconds since the epoch).
        public var first: Double
        public var last: Double
        /// Distinct paths withheld (the first `sampleSize`), each with its event's id.
        public var sample: [(path: [UInt8]?, eventID: String)] = []
    }

    /// Counts for the state report.
    public struct Statistics: Sendable {
        public init() {}
        public var withheldByGroup = 0
        public var withheldByCeiling = 0
        public var summaries = 0
        public var ceilingReached = 0
    }

    public let settings: Settings
    public private(set) var statistics = Statistics()
    private var groups: [Group: GroupState] = [:]
    private var ceilingWindowStart: Double?
    private var raisedInCeilingWindow = 0
    private var ceilingReported = false
    /// The earliest time a summary is due (none: infinity), so that asking costs nothing.
    private var nextDue = Double.infinity
    /// Groups remembered at most; beyond, those with nothing pending and an ended window
    /// are forgotten, and if none is, alerts count in their host's overflow group.
    public static let groupCapacity = 4096

    private struct GroupState {
        var windowStart: Double
        var raised = 0
        var pending: Summary?
        var nextSummary: Double?
    }

    public init(settings: Settings) { self.settings = settings }

    /// Whether the alert `event`, at `time`, is raised. `ceilingReached` is called at once
    /// with a notice when the ceiling is first reached in a window.
    public mutating func admit(_ event: FileEvent, at time: Double, ceilingReached: (String) -> Void) -> Bool {
        var key = Group(event)
        if groups[key] == nil && groups.count >= Self.groupCapacity {
            groups = groups.filter { $0.value.pending != nil || time < $0.value.windowStart + settings.window }
            if groups.count >= Self.groupCapacity { key = Group(overflowOf: event.node) }
        }
        var state = groups[key] ?? GroupState(windowStart: time)
        if time >= state.windowStart + settings.window || time < state.windowStart {
            state.windowStart = time
            state.raised = 0
        }
        if let start = ceilingWindowStart, time < start + settings.window && time >= start {} else {
            ceilingWindowStart = time
            raisedInCeilingWindow = 0
            ceilingReported = false
        }
        var byCeiling = false
        if state.raised < settings.allowance {
            if let ceiling = settings.ceiling, raisedInCeilingWindow >= ceiling {
                byCeiling = true
                if !ceilingReported {
                    ceilingReported = true
                    statistics.ceilingReached += 1
                    ceilingReached("alert ceiling reached: \(ceiling) alerts in the \(Int(settings.window)) s window "
                                   + "from all groups; further alerts are withheld and summarised per group")
                }
            } else {
                state.raised += 1
                raisedInCeilingWindow += 1
                groups[key] = state
                return true
            }
        }
        withhold(event, at: time, byCeiling: byCeiling, into: &state, group: key)
        groups[key] = state
        return false
    }

    private mutating func withhold(_ event: FileEvent, at time: Double, byCeiling: Bool, into state: inout GroupState,
                                   group: Group) {
        var summary = state.pending ?? Summary(group: group, first: time, last: time)
        summary.withheld += 1
        summary.last = time
        if byCeiling {
            summary.byCeiling += 1
            statistics.withheldByCeiling += 1
        } else {
            statistics.withheldByGroup += 1
        }
        if summary.sample.count < settings.sampleSize, !summary.sample.contains(where: { $0.path == event.file.path }) {
            summary.sample.append((event.file.path, event.eventID))
        }
        state.pending = summary
        if state.nextSummary == nil { state.nextSummary = time + settings.firstSummaryDelay }
        nextDue = min(nextDue, state.nextSummary!)
    }

    /// The summaries due at `time`, oldest group first. A group that goes on withholding
    /// is summarised again `summaryInterval` later.
    public mutating func dueSummaries(at time: Double) -> [Summary] {
        guard time >= nextDue else { return [] }
        var due: [Summary] = []
        nextDue = .infinity
        for (key, var state) in groups {
            guard let next = state.nextSummary else { continue }
            if next <= time {
                if let pending = state.pending {
                    due.append(pending)
                    state.pending = nil
                    state.nextSummary = time + settings.summaryInterval
                } else {
                    state.nextSummary = nil
                }
                groups[key] = state
            }
            if let next = state.nextSummary { nextDue = min(nextDue, next) }
        }
        statistics.summaries += due.count
        return due.sorted { $0.first < $1.first }
    }

    /// Every pending summary, whenever due (end of input, new settings).
    public mutating func flush() -> [Summary] {
        let due = groups.values.compactMap(\.pending).sorted { $0.first < $1.first }
        groups.removeAll()
        nextDue = .infinity
        statistics.summaries += due.count
        return due
    }
}
