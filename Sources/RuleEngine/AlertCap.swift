import FileEvents
import HostFiles

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
/// Time is the caller's: a monotonic clock live (setting the wall clock back must not
/// reopen windows or delay summaries), the events' own time in replay. A summary's first
/// and last times are the events' own.
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
        public var executable: RawPath?
        /// The directory of `file.path` (or the known directory of an unknown name).
        public var directory: RawPath?
        /// The host's catch-all, used when `groupCapacity` groups are all busy.
        public var isOverflow = false

        public init(_ event: FileEvent) {
            host = event.node
            executable = event.process.executable
            directory = event.file.path?.directory ?? event.file.directory
        }

        init(overflowOf host: String?) {
            self.host = host
            isOverflow = true
        }

        /// A total order, to break ties between summaries of the same size and time
        /// (cloned hosts, two programs in one millisecond): the groups' table has no order
        /// of its own from one run to the next.
        func precedes(_ other: Group) -> Bool {
            (host ?? "", executable ?? "", directory ?? "", isOverflow ? 1 : 0)
                < (other.host ?? "", other.executable ?? "", other.directory ?? "", other.isOverflow ? 1 : 0)
        }
    }

    /// What one group withheld since its previous summary.
    public struct Summary: Sendable {
        public var group: Group
        /// Alerts withheld, and how many of them because the ceiling was reached.
        public var withheld = 0
        public var byCeiling = 0
        /// The record times of the first and last withheld alert (seconds since the epoch).
        public var first: Double
        public var last: Double
        /// Distinct paths withheld, each with its event's id: the first half of
        /// `sampleSize` and the most recent others (decoys sent first cannot crowd out
        /// what came last).
        public var sample: [(path: RawPath?, eventID: String)] { firstSample + lastSample }
        var firstSample: [(path: RawPath?, eventID: String)] = []
        var lastSample: [(path: RawPath?, eventID: String)] = []
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
    private var lastPrune = -Double.infinity
    /// Groups remembered at most; beyond, those with nothing pending and an ended window
    /// are forgotten, and if none is, alerts count in their host's overflow group. Cost
    /// per alert: a hash look-up; a pass over the groups only when a summary falls due
    /// (`nextDue`) or the table is full.
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
            // Idle groups are forgotten at most once a second (a pass over all of them).
            if time >= lastPrune + 1 || time < lastPrune {
                lastPrune = time
                groups = groups.filter { $0.value.pending != nil || time < $0.value.windowStart + settings.window }
            }
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
        // When it happened: the event's own time (the cap's clock may be another).
        let happened = event.time
        var summary = state.pending ?? Summary(group: group, first: happened, last: happened)
        summary.withheld += 1
        summary.last = happened
        if byCeiling {
            summary.byCeiling += 1
            statistics.withheldByCeiling += 1
        } else {
            statistics.withheldByGroup += 1
        }
        if !summary.sample.contains(where: { $0.path == event.file.path }) {
            if summary.firstSample.count < settings.sampleSize / 2 {
                summary.firstSample.append((event.file.path, event.eventID))
            } else if settings.sampleSize > settings.sampleSize / 2 {
                if summary.lastSample.count == settings.sampleSize - settings.sampleSize / 2 { summary.lastSample.removeFirst() }
                summary.lastSample.append((event.file.path, event.eventID))
            }
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
        return fold(due)
    }

    /// Summaries due at once beyond this are folded into one per host, so that a burst
    /// of groups (many programs withheld by the ceiling) cannot flood the output; the
    /// smallest groups, most likely a single payload, come first.
    public static let summariesAtOnce = 50

    private mutating func fold(_ due: [Summary]) -> [Summary] {
        let ordered = due.sorted {
            ($0.withheld, $0.first) < ($1.withheld, $1.first)
                || ($0.withheld, $0.first) == ($1.withheld, $1.first) && $0.group.precedes($1.group)
        }
        guard ordered.count > Self.summariesAtOnce else {
            statistics.summaries += ordered.count
            return ordered
        }
        var kept = Array(ordered.prefix(Self.summariesAtOnce - 1))
        var folded: [String?: Summary] = [:]
        for summary in ordered.dropFirst(Self.summariesAtOnce - 1) {
            var host = folded[summary.group.host]
                ?? Summary(group: Group(overflowOf: summary.group.host), first: summary.first, last: summary.last)
            host.withheld += summary.withheld
            host.byCeiling += summary.byCeiling
            host.first = min(host.first, summary.first)
            host.last = max(host.last, summary.last)
            // One path from each group, as far as the sample goes.
            if let entry = summary.sample.last, host.sample.count < settings.sampleSize {
                if host.firstSample.count < settings.sampleSize / 2 { host.firstSample.append(entry) } else { host.lastSample.append(entry) }
            }
            folded[summary.group.host] = host
        }
        kept += folded.values.sorted { ($0.first, $0.group.host ?? "") < ($1.first, $1.group.host ?? "") }
        statistics.summaries += kept.count
        return kept
    }

    /// Every pending summary, whenever due (end of input, new settings).
    public mutating func flush() -> [Summary] {
        let due = groups.values.compactMap(\.pending)
        groups.removeAll()
        nextDue = .infinity
        return fold(due)
    }
}
