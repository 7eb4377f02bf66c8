@testable import FileEvents
import Foundation
@testable import RuleEngine
import Testing
import TestSupport

/// The cap per group (host, program, directory), the ceiling over all groups, and the
/// summaries of what was withheld.
@Suite("Alert cap: per group, a ceiling, summaries while it happens")
struct AlertCapTests {
    static let settings = AlertCap.Settings(allowance: 5, window: 300, ceiling: 100, firstSummaryDelay: 2,
                                            summaryInterval: 60, sampleSize: 10)

    /// An alert whose record time is `time` (the cap's clock in these tests too).
    func alert(_ serial: Int, by executable: String, in directory: String = "/etc/modprobe.d", host: String? = nil,
               at time: Double = 0) -> FileEvent {
        var event = fileEvent(path: "\(directory)/f\(serial).conf", executable: executable)
        event.serial = UInt64(serial)
        event.node = host
        event.seconds = Int(time.rounded(.down))
        event.milliseconds = Int(((time - time.rounded(.down)) * 1000).rounded())
        return event
    }

    @Test("a flood from one program never withholds another's alert; it gets its allowance and summaries")
    func floodAndSingles() {
        var cap = AlertCap(settings: Self.settings)
        var raised: [String: Int] = [:]
        var summaries: [AlertCap.Summary] = []
        var notices: [String] = []
        // 1,000 creations by the flooder over 100 s, and one by each of two other programs
        // every 25 s, interleaved.
        for index in 0 ..< 1000 {
            let time = 1000 + Double(index) / 10
            summaries += cap.dueSummaries(at: time)
            var events = [alert(index, by: "/tmp/flooder", at: time)]
            if index % 250 == 125 {
                events += [alert(10_000 + index, by: "/usr/bin/bash", at: time), alert(20_000 + index, by: "/usr/bin/cp", at: time)]
            }
            for event in events where cap.admit(event, at: time, ceilingReached: { notices.append($0) }) {
                raised[event.process.executable!.text, default: 0] += 1
            }
        }
        summaries += cap.flush()
        #expect(raised["/usr/bin/bash"] == 4 && raised["/usr/bin/cp"] == 4, "every single alert is raised: \(raised)")
        #expect(raised["/tmp/flooder"] == 5)
        #expect(notices.isEmpty)
        #expect(summaries.allSatisfy { $0.group.executable?.text == "/tmp/flooder" && $0.group.directory?.text == "/etc/modprobe.d" })
        #expect(summaries.map(\.withheld).reduce(0, +) == 995)
        // The first 2 s after the first withheld alert (at 1000.5 s), then every 60 s.
        #expect(summaries.first.map { $0.first == 1000.5 && $0.last < 1002.6 } == true, "\(summaries.map { ($0.first, $0.last) })")
        #expect(summaries.count == 3)
        #expect(summaries.allSatisfy { $0.sample.count == 10 && Set($0.sample.map { $0.path! }).count == 10 })
        #expect(cap.statistics.withheldByGroup == 995 && cap.statistics.summaries == 3)
    }

    @Test("summaries of the same size and time come in the groups' order, whatever order the table keeps")
    func tiedSummariesOrdered() {
        // Each cap's table is a new dictionary, whose order varies from one to the next.
        for _ in 0 ..< 20 {
            var cap = AlertCap(settings: Self.settings)
            for (host, executable) in [("beta", "/tmp/x"), ("alpha", "/tmp/y"), ("alpha", "/tmp/x"), ("gamma", "/tmp/x")] {
                for index in 0 ..< 6 { _ = cap.admit(alert(index, by: executable, host: host, at: 10), at: 10, ceilingReached: { _ in }) }
            }
            let order = cap.flush().map { "\($0.group.host ?? "-") \($0.group.executable?.text ?? "-")" }
            #expect(order == ["alpha /tmp/x", "alpha /tmp/y", "beta /tmp/x", "gamma /tmp/x"])
        }
    }

    @Test("groups are host, program and directory: a flood on one host or in one directory withholds nothing elsewhere")
    func groups() {
        var cap = AlertCap(settings: Self.settings)
        for index in 0 ..< 50 { _ = cap.admit(alert(index, by: "/tmp/x", host: "web-01"), at: 10, ceilingReached: { _ in }) }
        let otherHost = cap.admit(alert(100, by: "/tmp/x", host: "web-02"), at: 10, ceilingReached: { _ in })
        let otherPlace = cap.admit(alert(101, by: "/tmp/x", in: "/etc/modules-load.d", host: "web-01"), at: 10, ceilingReached: { _ in })
        let same = cap.admit(alert(102, by: "/tmp/x", host: "web-01"), at: 10, ceilingReached: { _ in })
        #expect(otherHost && otherPlace && !same)
    }

    @Test("many groups reach the ceiling: said at once, once per window; the rest withheld and summarised per group")
    func ceiling() {
        var cap = AlertCap(settings: Self.settings)
        var notices: [String] = []
        var raised = 0
        for program in 0 ..< 40 {
            for index in 0 ..< 5 where cap.admit(alert(program * 10 + index, by: "/tmp/p\(program)"), at: 50,
                                                 ceilingReached: { notices.append($0) }) {
                raised += 1
            }
        }
        #expect(raised == 100)
        #expect(notices.count == 1 && notices[0].contains("ceiling reached: 100 alerts"))
        #expect(cap.statistics.withheldByCeiling == 100 && cap.statistics.ceilingReached == 1)
        let summaries = cap.dueSummaries(at: 52)
        #expect(summaries.count == 20)
        #expect(summaries.allSatisfy { $0.withheld == 5 && $0.byCeiling == 5 })
        // The next window: room again, and the ceiling would be reported again.
        let nextWindow = cap.admit(alert(9999, by: "/tmp/p0"), at: 351, ceilingReached: { notices.append($0) })
        #expect(nextWindow)
    }

    @Test("a burst of due summaries is folded per host beyond 50, smallest groups first; decoys cannot crowd the payload out of a sample")
    func burstAndSample() {
        var cap = AlertCap(settings: AlertCap.Settings(allowance: 1, window: 300, ceiling: nil, firstSummaryDelay: 2,
                                                       summaryInterval: 60, sampleSize: 10))
        // 100 programs withhold 2 alerts each; one more withholds 1 (the payload).
        for program in 0 ..< 100 {
            for index in 0 ..< 3 { _ = cap.admit(alert(program * 10 + index, by: "/tmp/p\(program)"), at: 10, ceilingReached: { _ in }) }
        }
        for index in 0 ..< 2 { _ = cap.admit(alert(5000 + index, by: "/usr/bin/bash"), at: 10.5, ceilingReached: { _ in }) }
        let due = cap.dueSummaries(at: 13)
        #expect(due.count == 50)
        #expect(due.first?.group.executable?.text == "/usr/bin/bash", "the smallest group first")
        #expect(due.last?.group.isOverflow == true && due.last?.withheld == 2 * 52, "52 groups folded")
        #expect(due.map(\.withheld).reduce(0, +) == 201)

        // Within one group: 100 decoys, then the payload.
        var one = AlertCap(settings: AlertCap.Settings(allowance: 0, window: 300, ceiling: nil, summaryInterval: 60))
        for index in 0 ..< 100 { _ = one.admit(alert(index, by: "/tmp/x"), at: 10, ceilingReached: { _ in }) }
        _ = one.admit(alert(999, by: "/tmp/x"), at: 10, ceilingReached: { _ in })
        let sample = one.flush().first?.sample.compactMap { $0.path?.text } ?? []
        #expect(sample.count == 10 && sample.contains("/etc/modprobe.d/f999.conf"))
    }

    @Test("windows roll over: a group's allowance comes back once its window has passed")
    func rollover() {
        var cap = AlertCap(settings: Self.settings)
        let first = (0 ..< 8).filter { cap.admit(alert($0, by: "/tmp/x"), at: 100 + Double($0), ceilingReached: { _ in }) }
        let second = (8 ..< 16).filter { cap.admit(alert($0, by: "/tmp/x"), at: 400 + Double($0), ceilingReached: { _ in }) }
        #expect(first.count == 5 && second.count == 5)
        #expect(cap.statistics.withheldByGroup == 6)
        // Never asked in between, the withheld of both windows are in one summary.
        #expect(cap.flush().map(\.withheld) == [6])
    }
}
