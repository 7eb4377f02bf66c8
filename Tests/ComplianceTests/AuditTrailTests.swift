@testable import Compliance
import Testing

/// What a host's logs can vouch for, from auditd's and the rules' marks alone.
@Suite("Evidence completeness: gaps from auditd's and the watches' records")
struct AuditTrailTests {
    /// A trail fed as `PeriodReport` feeds it: every event noted in log order (auditd's
    /// start too, and records before `period` only as such); a mark added after its event.
    func trail(_ marks: [(HostTrail.Mark.Kind, Double, String)], records: [Double], period: ReportPeriod = ReportPeriod()) -> HostTrail {
        var trail = HostTrail(host: "h")
        func note(_ time: Double, startsDaemon: Bool = false) {
            if let since = period.since, time < since {
                trail.noteBeforePeriod(time: time, startsDaemon: startsDaemon)
            } else {
                trail.note(time: time, startsDaemon: startsDaemon)
            }
        }
        func add(_ mark: (HostTrail.Mark.Kind, Double, String)) {
            if mark.0 == .daemonStart { note(mark.1, startsDaemon: true) }
            trail.add(HostTrail.Mark(kind: mark.0, time: mark.1, eventID: "\(mark.1):1", detail: mark.2))
        }
        var pending = marks.sorted { $0.1 < $1.1 }
        for time in records.sorted() {
            while let mark = pending.first, mark.1 <= time {
                add(mark)
                pending.removeFirst()
            }
            note(time)
        }
        pending.forEach(add)
        return trail
    }

    @Test("auditing switched off is a gap to the host's next record, even when that record was noted first")
    func auditingOffUntilNextRecord() {
        var trail = HostTrail(host: "h")
        // The -e 0 event has no end record: it completes after the events that follow it.
        for time in [90.0, 101, 102] { trail.note(time: time) }
        trail.note(time: 100, disablesAuditing: true)
        trail.note(time: 150)
        trail.add(HostTrail.Mark(kind: .auditingDisabled, time: 100, eventID: "100:1", detail: "audit_enabled=0"))
        let gaps = trail.gaps(in: ReportPeriod(since: 50, until: 300))
        #expect(gaps.contains { $0.from == 100 && $0.to == 101 && $0.reason.hasPrefix("auditing disabled until the host's next record") },
                "\(gaps)")
        // With no record after it, the gap runs to the end.
        var silent = HostTrail(host: "h")
        silent.note(time: 90)
        silent.note(time: 100, disablesAuditing: true)
        silent.add(HostTrail.Mark(kind: .auditingDisabled, time: 100, eventID: "100:1", detail: "audit_enabled=0"))
        #expect(silent.gaps(in: ReportPeriod(since: 50, until: 300)).contains { $0.from == 100 && $0.to == 300 })
    }

    @Test("each removed watch needs its own re-add: one add after two removals leaves the gap open")
    func removalsCountPerWatch() {
        let exit = "key audisp-lkm on the exit list"
        let open = trail([(.watchRemoved, 100, exit), (.watchRemoved, 110, exit), (.watchAdded, 120, exit)], records: [90, 200])
        let gaps = open.gaps(in: ReportPeriod(since: 50, until: 300))
        #expect(gaps.contains { $0.partial && $0.from == 100 && $0.to == 300 && $0.reason.hasPrefix("watch removed and not added again") },
                "\(gaps)")
        let closed = trail([(.watchRemoved, 100, exit), (.watchRemoved, 110, exit), (.watchAdded, 120, exit), (.watchAdded, 130, exit)],
                           records: [90, 200])
        #expect(closed.gaps(in: ReportPeriod(since: 50, until: 300)).contains { $0.partial && $0.from == 100 && $0.to == 130 })
    }

    @Test("a watch removed before the period and never re-added is a gap in it; auditd's stop is clipped to the period")
    func earlierState() {
        let exit = "key audisp-lkm on the exit list"
        let before = trail([(.watchRemoved, 10, exit), (.daemonEnd, 20, "op=terminate"), (.daemonStart, 150, "op=start")],
                           records: [5, 160, 190], period: ReportPeriod(since: 100, until: 200))
        let gaps = before.gaps(in: ReportPeriod(since: 100, until: 200))
        #expect(gaps.contains { $0.partial && $0.from == 100 && $0.to == 200 }, "\(gaps)")
        #expect(gaps.contains { !$0.partial && $0.from == 100 && $0.to == 150 && $0.reason.hasPrefix("auditd stopped") }, "\(gaps)")
        #expect(before.marks(in: ReportPeriod(since: 100, until: 200)).map(\.kind) == [.daemonStart])
    }

    @Test("a host silent in the whole period is a gap of the whole period; a start with no end after records is an unclean stop")
    func silenceAndUncleanStop() {
        let silent = trail([], records: [])
        #expect(silent.gaps(in: ReportPeriod(since: 0, until: 10)).map(\.reason) == ["no records at all for this host in the period"])
        let killed = trail([(.daemonStart, 50, "op=start")], records: [10, 20, 60])
        #expect(killed.gaps(in: ReportPeriod()).contains { $0.from == 20 && $0.to == 50 && $0.uncleanStop && $0.reason.hasPrefix("auditd stopped without an end record") })
        #expect(killed.lossNotices(in: ReportPeriod(), gaps: killed.gaps(in: ReportPeriod())) == 1)
    }

    @Test("auditd killed before --since and started after it: the silence from --since is an unclean stop, not logs not given")
    func uncleanStopSpanningSince() {
        let period = ReportPeriod(since: 100, until: 200)
        let killed = trail([(.daemonStart, 150, "op=start")], records: [10, 90, 160, 199.5], period: period)
        let gaps = killed.gaps(in: period)
        #expect(gaps.count == 1, "\(gaps)")
        #expect(gaps.first.map { $0.from == 100 && $0.to == 150 && $0.uncleanStop && $0.reason.hasPrefix("auditd stopped without an end record") } == true, "\(gaps)")
        #expect(killed.lossNotices(in: period, gaps: gaps) == 1)
        #expect(killed.firstRecord == 150 && killed.events == 3)
        // A record before --since and no stop: the silence is still a gap, not vouched for.
        let quiet = trail([], records: [10, 90, 160, 199.5], period: period)
        #expect(quiet.gaps(in: period).map(\.reason) == ["no records from the period's start to its first one (the last before it: \(isoTime(90))): quiet, or logs not given"])
        // With no record before --since, the same silence is older logs not given.
        let rotated = trail([(.daemonStart, 150, "op=start")], records: [160, 199.5], period: period)
        #expect(rotated.gaps(in: period).map(\.reason) == ["no records before the first one given: older logs rotated away or not given"])
    }
}
