import AuditReading
import Foundation
import Testing
import TestSupport

/// Events as the reader delivers them: each event's record types, in order.
private func events(_ log: String, endOfEventTimeout: UInt64 = 2) -> [[String]] {
    var delivered: [[String]] = []
    let reader = AuditLogReader(endOfEventTimeout: endOfEventTimeout) { event in
        var records: [String] = []
        event.forEachRecord { record in
            let text = record.text?.string ?? ""
            let type = text.split(separator: " ").first { $0.hasPrefix("type=") }.map { String($0.dropFirst(5)) } ?? "?"
            let serial = text.split(separator: ":").dropFirst().first.map { String($0.prefix { $0 != ")" }) } ?? "?"
            records.append("\(type):\(serial)")
            return true
        }
        delivered.append(records)
    }
    try! read(log, with: reader)
    return delivered
}

private func record(_ type: String, _ stamp: String, _ rest: String = "") -> String {
    "type=\(type) msg=audit(\(stamp)): \(rest)\n"
}

@Suite("Regrouping records into events (libauparse's completion rule, without its slowdown)")
struct RegroupingTests {
    @Test("an event ending in PROCTITLE is complete; the EOE that follows it is discarded")
    func proctitleEndsEvent() {
        let log = record("SYSCALL", "100.000:1", "arch=c000003e syscall=2") + record("CWD", "100.000:1", "cwd=\"/\"")
            + record("PROCTITLE", "100.000:1", "proctitle=6C73")
        #expect(events(log) == [["SYSCALL:1", "CWD:1", "PROCTITLE:1"]])
    }

    @Test("records of two interleaved serials regroup into their own events, delivered in serial order")
    func interleavedSerials() {
        let log = record("SYSCALL", "100.000:1") + record("SYSCALL", "100.000:2") + record("PATH", "100.000:1")
            + record("PATH", "100.000:2") + record("PROCTITLE", "100.000:2") + record("PROCTITLE", "100.000:1")
        #expect(events(log) == [["SYSCALL:1", "PATH:1", "PROCTITLE:1"], ["SYSCALL:2", "PATH:2", "PROCTITLE:2"]])
    }

    @Test("an event with no end record completes when the log moves past the timeout, closed by an EOE")
    func timeoutCompletes() {
        let log = record("SYSCALL", "100.000:1") + record("PATH", "100.000:1")
            + record("SYSCALL", "101.000:2") + record("PATH", "101.000:2")
            + record("SYSCALL", "102.000:3") + record("PATH", "102.000:3")
        let result = events(log, endOfEventTimeout: 2)
        // Serial 1 completes when second 102 arrives; 2 and 3 at the end of input.
        #expect(result == [["SYSCALL:1", "PATH:1", "EOE:1"], ["SYSCALL:2", "PATH:2", "EOE:2"], ["SYSCALL:3", "PATH:3", "EOE:3"]])
    }

    @Test("an unterminated event is flushed at the end of input")
    func flushedAtEnd() {
        #expect(events(record("SYSCALL", "100.000:7") + record("PATH", "100.000:7")) == [["SYSCALL:7", "PATH:7", "EOE:7"]])
    }

    @Test("a record arriving after its event's PROCTITLE starts a new event, as in libauparse")
    func lateRecordIsFragment() {
        let log = record("SYSCALL", "100.000:1") + record("PROCTITLE", "100.000:1") + record("PATH", "100.000:1")
        #expect(events(log) == [["SYSCALL:1", "PROCTITLE:1"], ["PATH:1", "EOE:1"]])
    }

    @Test("one-record types (user messages, below 1300) are events of their own")
    func singleRecordTypes() {
        let log = record("USER_START", "100.000:5", "pid=1") + record("USER_END", "100.000:5", "pid=1")
        #expect(events(log).count == 2)
    }

    @Test("the same serial on two nodes is two events")
    func nodesSeparateEvents() {
        let log = "node=a " + record("SYSCALL", "100.000:1") + "node=b " + record("SYSCALL", "100.000:1")
            + "node=a " + record("PROCTITLE", "100.000:1") + "node=b " + record("PROCTITLE", "100.000:1")
        #expect(events(log).map(\.count) == [2, 2])
    }

    @Test("thousands of unterminated events in one second are all delivered, none merged")
    func manyOpenEvents() {
        var log = ""
        for serial in 1...5000 { log += record("SYSCALL", "100.000:\(serial)") + record("PATH", "100.000:\(serial)") }
        let result = events(log)
        #expect(result.count == 5000)
        #expect(result.allSatisfy { $0.count == 3 })
    }
}

@Suite("Event selection before libauparse")
struct SelectionTests {
    /// Serials libauparse parsed, in order, with a selector that parses SYSCALL number 2
    /// (our stand-in for a file call) and holds number 59 (exec).
    private func parsedSerials(_ log: String) -> [String] {
        var serials: [String] = []
        let reader = AuditLogReader(selector: { summary in
            switch summary.syscall {
            case 2: .parse
            case 59: .hold
            default: .skip
            }
        }) { event in
            serials.append(String(event.timestamp.serial))
        }
        try! read(log, with: reader)
        #expect(reader.statistics.events == log.split(separator: "\n").filter { $0.hasPrefix("type=SYSCALL") }.count)
        return serials
    }

    private func syscall(_ serial: Int, _ number: Int, pid: Int) -> String {
        record("SYSCALL", "100.000:\(serial)", "arch=c000003e syscall=\(number) success=yes exit=0 pid=\(pid)")
            + record("PROCTITLE", "100.000:\(serial)", "proctitle=6C73")
    }

    @Test("an exec is parsed just before a later file call of the same process, never otherwise")
    func heldExec() {
        let log = syscall(1, 59, pid: 10) + syscall(2, 59, pid: 11) + syscall(3, 0, pid: 10) + syscall(4, 2, pid: 10)
        #expect(parsedSerials(log) == ["1", "4"])
    }

    @Test("only the latest exec of a process is held")
    func latestExecWins() {
        let log = syscall(1, 59, pid: 10) + syscall(2, 59, pid: 10) + syscall(3, 2, pid: 10) + syscall(4, 2, pid: 10)
        #expect(parsedSerials(log) == ["2", "3", "4"])
    }

    @Test("held execs are bounded in bytes: the longest-held are dropped first")
    func heldBytesBounded() {
        // 10,000 execs of about 1 KiB by distinct processes: more than the 8 MiB held at most.
        let padding = String(repeating: "A", count: 1000)
        var log = ""
        for pid in 1...10_000 {
            log += record("SYSCALL", "100.000:\(pid)", "arch=c000003e syscall=59 success=yes exit=0 pid=\(pid) x=\(padding)")
                + record("PROCTITLE", "100.000:\(pid)", "proctitle=6C73")
        }
        log += syscall(20_001, 2, pid: 1) + syscall(20_002, 2, pid: 10_000)
        // Process 1's exec was dropped; process 10,000's was still held and parsed.
        #expect(parsedSerials(log).sorted() == ["10000", "20001", "20002"])
    }
}
