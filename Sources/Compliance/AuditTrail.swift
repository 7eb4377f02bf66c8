import AuditReading
import FileEvents

/// What one host's logs can vouch for over a period: when its records start and end,
/// when auditd stopped, rotated its log or reported errors, and when the detector's
/// watches were removed or added. The report's "evidence completeness".
public struct HostTrail: Sendable {
    /// auditd's own records (`DAEMON_*`) and the rule changes that matter here.
    public struct Mark: Sendable {
        public enum Kind: String, Sendable {
            case daemonStart = "auditd-start"
            case daemonEnd = "auditd-end"
            case daemonAbort = "auditd-abort"
            case daemonError = "auditd-error"
            case rotate = "log-rotated"
            case resume = "auditd-resume"
            case watchAdded = "watch-added"
            case watchRemoved = "watch-removed"
            case auditingDisabled = "auditing-disabled"
            case auditingEnabled = "auditing-enabled"
        }
        public var kind: Kind
        public var time: Double
        public var eventID: String
        /// The record's own words (`op=`, `res=`, the watched path or key).
        public var detail: String
        /// For auditd's start: the host's latest record before it (`HostTrail.note`).
        var previousRecord: Double?
        /// Marks of one kind and detail within two seconds are one (`auditctl -D` removes
        /// each rule in turn): how many, and the last one's time and id.
        public internal(set) var count = 1
        public internal(set) var lastTime: Double
        public internal(set) var lastEventID: String

        public init(kind: Kind, time: Double, eventID: String, detail: String) {
            (self.kind, self.time, self.eventID, self.detail) = (kind, time, eventID, detail)
            (lastTime, lastEventID) = (time, eventID)
        }

        /// `ID`, or `FIRST ... LAST (N)` for a run.
        public var eventIDs: String { count == 1 ? eventID : "\(eventID) ... \(lastEventID) (\(count))" }
    }

    /// A stretch of the period the logs cannot vouch for (or, `partial`, can vouch for
    /// only in part: a watch was removed).
    public struct Gap: Sendable {
        public var from: Double
        public var to: Double
        public var reason: String
        public var partial = false
        /// auditd stopped without an end record: records may have been lost.
        public var uncleanStop = false
    }

    public var host: String
    public private(set) var firstRecord: Double?
    public private(set) var lastRecord: Double?
    public private(set) var events = 0
    /// Kept up to `markCapacity`; `marksDropped` counts the rest.
    public private(set) var marks: [Mark] = []
    public private(set) var marksDropped = 0
    public static let markCapacity = 10_000

    init(host: String) { self.host = host }

    /// The host's last record before the period, if the logs hold one.
    public private(set) var lastBeforePeriod: Double?

    /// The record noted last, in log order (from before the period too).
    private var latestNoted: Double?
    /// For each auditd start (by time): the record noted just before it, where a stop
    /// without an end record began. Taken when the start's event is noted (in the order
    /// the logs have them), not when its records are read, which comes later, after
    /// events that follow it; and in log order, not the newest time seen, so that a later
    /// file given first does not hide a stop whose start follows records in its own file
    /// (a start that opens a file given after a later one is still hidden).
    private var newestBeforeStart: [Double: Double] = [:]

    /// Notes one event of this host (`startsDaemon`: a `DAEMON_START`); `add` its mark,
    /// if any, after.
    mutating func note(time: Double, startsDaemon: Bool = false, disablesAuditing: Bool = false) {
        noteInStream(time: time, startsDaemon: startsDaemon, disablesAuditing: disablesAuditing)
        events += 1
        if firstRecord.map({ time < $0 }) ?? true { firstRecord = time }
        if lastRecord.map({ time > $0 }) ?? true { lastRecord = time }
    }

    /// Notes one event of this host from before the period: not counted, but the newest
    /// one before a start with no end is where an unclean stop began.
    mutating func noteBeforePeriod(time: Double, startsDaemon: Bool = false, disablesAuditing: Bool = false) {
        noteInStream(time: time, startsDaemon: startsDaemon, disablesAuditing: disablesAuditing)
        if lastBeforePeriod.map({ time > $0 }) ?? true { lastBeforePeriod = time }
    }

    private mutating func noteInStream(time: Double, startsDaemon: Bool, disablesAuditing: Bool) {
        if startsDaemon, let latest = latestNoted, latest < time, newestBeforeStart.count < Self.markCapacity {
            newestBeforeStart[time] = latest
        }
        latestNoted = time
        // The kernel logs auditing switched off, never switched on again: the host's
        // first record after it is the first proof that it was on. Events complete out of
        // log order (one without an end record waits for its timeout), so the records
        // noted just before count too.
        if disablesAuditing, onAgain.count < 64 {
            onAgain[time] = recentTimes.filter { $0 > time }.min() ?? .infinity
        }
        for (off, on) in onAgain where time > off && time < on { onAgain[off] = time }
        if recentTimes.count == Self.recentCapacity { recentTimes.removeFirst() }
        recentTimes.append(time)
    }

    /// For each time auditing was switched off, the host's first record after it (infinity
    /// while none has come); at most 64.
    private var onAgain: [Double: Double] = [:]
    /// The times of the events noted last (events complete at most a few seconds out of order).
    private var recentTimes: [Double] = []
    private static let recentCapacity = 256

    mutating func add(_ mark: Mark) {
        if let last = marks.indices.last, marks[last].kind == mark.kind, marks[last].detail == mark.detail,
           mark.time - marks[last].lastTime <= 2 {
            marks[last].count += 1
            (marks[last].lastTime, marks[last].lastEventID) = (mark.time, mark.eventID)
            return
        }
        var mark = mark
        if mark.kind == .daemonStart { mark.previousRecord = newestBeforeStart.removeValue(forKey: mark.time) }
        guard marks.count < Self.markCapacity else { marksDropped += 1; return }
        marks.append(mark)
    }

    /// Records lost or possibly lost in `period`, whose `gaps` are given: auditd aborts and
    /// errors, and stops without an end record (killed, crashed, or the host went down).
    public func lossNotices(in period: ReportPeriod, gaps: [Gap]) -> Int {
        marks(in: period).filter { $0.kind == .daemonAbort || $0.kind == .daemonError }.count
            + gaps.filter(\.uncleanStop).count
    }

    /// The stretches of `period` these logs cannot vouch for: before the first record and
    /// after the last one (when the period says where it starts or ends, and no stop
    /// explains the silence), between auditd's
    /// end (or abort) and its next start, before a start that followed no end (auditd was
    /// killed: from the last record before it), and, in part, while a watch was removed
    /// (counted per key and list: each removal needs its own re-add). Marks from before
    /// the period count (a watch removed earlier and never re-added), clipped to it.
    public func gaps(in period: ReportPeriod) -> [Gap] {
        var gaps: [Gap] = []
        var stoppedAt: Double?
        var stoppedBy = Mark.Kind.daemonEnd
        var stoppedText: String {
            switch stoppedBy {
            case .daemonAbort: "auditd aborted"
            case .auditingDisabled: "auditing disabled (auditctl -e 0)"
            default: "auditd stopped"
            }
        }
        var removed: [String: (from: Double, count: Int)] = [:]
        for mark in marks.sorted(by: { $0.time < $1.time }) {
            if let until = period.until, mark.time >= until { break }
            switch mark.kind {
            case .daemonEnd, .daemonAbort:
                if stoppedAt == nil { (stoppedAt, stoppedBy) = (mark.time, mark.kind) }
            case .daemonStart:
                if let stop = stoppedAt {
                    gaps.append(Gap(from: stop, to: mark.time, reason: "\(stoppedText) until it started again: nothing was recorded"))
                } else if let before = mark.previousRecord, before < mark.time {
                    gaps.append(Gap(from: before, to: mark.time, reason: "auditd stopped without an end record (killed, crashed or the host went "
                                    + "down): nothing after the last record was recorded", uncleanStop: true))
                }
                stoppedAt = nil
            case .watchRemoved:
                removed[mark.detail, default: (mark.time, 0)].count += mark.count
            case .watchAdded:
                guard let open = removed[mark.detail] else { break }
                if open.count > mark.count {
                    removed[mark.detail]?.count -= mark.count
                } else {
                    removed[mark.detail] = nil
                    gaps.append(Gap(from: open.from, to: mark.time, reason: "watch removed: \(mark.detail)", partial: true))
                }
            case .auditingDisabled:
                if let on = onAgain[mark.time], on.isFinite, stoppedAt == nil {
                    gaps.append(Gap(from: mark.time, to: on, reason: "auditing disabled until the host's next record "
                                    + "(the kernel does not log it switched on)"))
                } else if stoppedAt == nil {
                    (stoppedAt, stoppedBy) = (mark.time, mark.kind)
                }
            case .auditingEnabled:
                if let stop = stoppedAt, stoppedBy == .auditingDisabled {
                    gaps.append(Gap(from: stop, to: mark.time, reason: "auditing disabled until enabled again"))
                    stoppedAt = nil
                }
            case .daemonError, .rotate, .resume:
                break
            }
        }
        // Silence from --since to the first record, unless a stop already explains it.
        if let first = firstRecord, let since = period.since, first > since + 1,
           !gaps.contains(where: { !$0.partial && $0.from <= since + 1 && $0.to >= first - 1 }) {
            gaps.append(Gap(from: since, to: first, reason: lastBeforePeriod.map {
                "no records from the period's start to its first one (the last before it: \(isoTime($0))): quiet, or logs not given"
            } ?? "no records before the first one given: older logs rotated away or not given"))
        }
        let end = period.until ?? lastRecord ?? stoppedAt ?? 0
        if let stop = stoppedAt {
            gaps.append(Gap(from: stop, to: max(stop, end), reason: "\(stoppedText); no start after it in the logs given"))
        } else if let last = lastRecord, let until = period.until, last + 1 < until {
            gaps.append(Gap(from: last, to: until, reason: "no records after the last one given: quiet, or later logs not given"))
        } else if firstRecord == nil, let since = period.since, let until = period.until {
            gaps.append(Gap(from: since, to: until, reason: "no records at all for this host in the period"))
        }
        for (watch, open) in removed.sorted(by: { $0.value.from < $1.value.from }) {
            gaps.append(Gap(from: open.from, to: max(open.from, end), reason: "watch removed and not added again: \(watch)", partial: true))
        }
        // Clipped to the period: what lies before --since or after --until is not asked.
        return gaps.compactMap { gap in
            var gap = gap
            if let since = period.since { gap.from = max(gap.from, since) }
            if let until = period.until { gap.to = min(gap.to, until) }
            return gap.to > gap.from || gap.to == gap.from && period.contains(gap.from) ? gap : nil
        }.sorted { $0.from < $1.from }
    }

    /// The marks within `period`, for display.
    public func marks(in period: ReportPeriod) -> [Mark] {
        marks.filter { period.contains($0.time) }
    }
}
