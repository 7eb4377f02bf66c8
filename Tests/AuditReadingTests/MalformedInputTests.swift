import AuditReading
import Foundation
import Testing
import TestSupport

@Suite("Bad input is counted or refused, never a crash")
struct MalformedInputTests {
    let fixture = TestData.kernelFixture("x86_64-i386.log")

    @Test("an empty file is zero records, no error")
    func emptyFile() throws {
        let result = try replay([])
        #expect(result.statistics.records == 0)
        #expect(result.statistics.events == 0)
        #expect(result.error == nil)
    }

    @Test("one event past its limits (records, PATH records) keeps what fits, counts the rest, and still ends on its end record")
    func eventBomb() throws {
        let stamp = "msg=audit(1800000000.000:1):"
        var log = "type=SYSCALL \(stamp) arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=1 a2=41 a3=1a4 items=2 "
            + "ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm=\"x\" exe=\"/bin/x\" key=(null)\n"
        let paths = 10_000
        log += String(repeating: "type=PATH \(stamp) item=1 name=\"/etc/modprobe.d/x.conf\" inode=5 dev=fe:00 mode=0100644 "
                      + "ouid=0 ogid=0 rdev=00:00 nametype=CREATE\n", count: paths)
        let execves = 5_000
        log += String(repeating: "type=EXECVE \(stamp) argc=1 a0=\"x\"\n", count: execves)
        log += "type=PROCTITLE \(stamp) proctitle=78\n"
        // And one ordinary event after it, which must be read whole.
        log += "type=SYSCALL msg=audit(1800000000.001:2): arch=c000003e syscall=2 success=no exit=-2 items=0 ppid=1 pid=3\n"
            + "type=PROCTITLE msg=audit(1800000000.001:2): proctitle=78\n"
        let result = try replay(Array(log.utf8), selecting: false)
        // Kept: the SYSCALL, 64 PATH and EXECVE records up to 4,096 in all; the PROCTITLE
        // is past the limit too, and still ends the event.
        let records = 1 + paths + execves + 1
        #expect(result.statistics.recordsBeyondEventLimits == records - EventRegrouper.maximumRecordsPerEvent)
        #expect(result.statistics.events == 2)
        #expect(result.fileEvents.count == EventRegrouper.maximumPathRecordsPerEvent)
    }

    @Test("binary garbage is skipped and counted")
    func binaryGarbage() throws {
        var generator = SystemRandomNumberGenerator()
        var garbage = (0..<200_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        garbage += try recordLines(fixture).prefix(20).flatMap { $0 + [0x0A] }
        let result = try replay(garbage)
        #expect(result.statistics.malformedLines > 0)
        #expect(result.statistics.records >= 20)
    }

    @Test("truncated lines (cut at every length) are skipped or parsed, never crash")
    func truncatedLines() throws {
        let line = try recordLines(fixture).first { $0.text.hasPrefix("type=SYSCALL") }!
        let cut = (0..<line.count).map { Array(line.prefix($0)) }
        let result = try replay(joined(cut))
        #expect(result.statistics.records + result.statistics.malformedLines == cut.filter { !$0.isEmpty }.count)
    }

    @Test("a 1 MB line is skipped as overlong and the records around it still count")
    func megabyteLine() throws {
        let lines = try recordLines(fixture)
        let huge = [UInt8](repeating: UInt8(ascii: "A"), count: 1 << 20)
        let result = try replay(joined(Array(lines.prefix(10)) + [huge] + Array(lines.dropFirst(10))))
        #expect(result.statistics.overlongLines == 1)
        #expect(result.statistics.records == lines.count)
    }

    @Test("a file that stops mid-event still delivers the partial event")
    func stopsMidEvent() throws {
        let lines = try recordLines(fixture)
        // Cut inside the last openat creation: its SYSCALL and CWD are there, PATH records not.
        let index = lines.lastIndex { $0.text.contains(" syscall=257 ") }!
        var data = joined(Array(lines[...index]))
        data += lines[index + 1].prefix(12) // and the start of the next line, no newline
        let result = try replay(data, selecting: false)
        #expect(result.statistics.records == index + 1)
        #expect(result.statistics.malformedLines == 1)
        // The cut event reached the normaliser, which counted its missing PATH records.
        #expect(result.normalizer.incompleteEvents == 1)
    }

    @Test("NUL bytes inside a record make it malformed, not silently shortened")
    func nulBytes() throws {
        let line = try recordLines(fixture).first { $0.text.hasPrefix("type=PATH") }!
        var poisoned = line
        poisoned.insert(0, at: 40)
        let result = try replay(joined([poisoned]))
        #expect(result.statistics.malformedLines == 1)
        #expect(result.statistics.records == 0)
    }

    @Test("gzip-compressed logs read like plain ones; a truncated one is an error")
    func gzip() throws {
        try withTemporaryDirectory { directory in
            let copy = directory.appendingPathComponent("audit.log.1")
            try FileManager.default.copyItem(at: fixture, to: copy)
            let gzip = Foundation.Process()
            gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
            gzip.arguments = [copy.path]
            try gzip.run()
            gzip.waitUntilExit()
            let compressed = directory.appendingPathComponent("audit.log.1.gz")

            let plain = try replay(files: [fixture.path])
            let fromGzip = try replay(files: [compressed.path])
            #expect(fromGzip.statistics.records == plain.statistics.records)
            #expect(fromGzip.fileEvents.count == plain.fileEvents.count)

            let bytes = try Data(contentsOf: compressed)
            let truncated = directory.appendingPathComponent("cut.gz")
            try bytes.prefix(bytes.count / 2).write(to: truncated)
            let partial = try replay(files: [truncated.path])
            #expect(partial.error?.description.contains("truncated") == true)
            #expect(partial.statistics.records > 0)
        }
    }
}

@Suite("The shared corpus of public audit logs")
struct CorpusTests {
    @Test("every corpus file replays, grouped into exactly libauparse's own events",
          .enabled(if: TestData.corpus != nil || TestData.mandatory))
    func everyFile() throws {
        let corpus = try #require(TestData.corpus, "../shared/corpus is missing (AUDISP_LKM_REQUIRE_ALL=1)")
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appendingPathComponent("corpus-stats.json")))
            as! [String: [String: Any]]
        #expect(stats.count > 250)
        for (name, facts) in stats.sorted(by: { $0.key < $1.key }) {
            let path = corpus.appendingPathComponent(name).path
            // corpus-stats.json counted with auparse_next_event over the file (libauparse 3.0.9).
            let expected = facts["auparse_events"] as? Int
            let everything = try replay(files: [path], selecting: false)
            #expect(everything.error == nil, "\(name)")
            #expect(everything.statistics.parsedEvents == expected, "\(name): libauparse, fed by the regrouper")
            #expect(everything.statistics.events == expected, "\(name): the regrouper's own count")
            let selected = try replay(files: [path])
            #expect(selected.statistics.events == expected, "\(name): with the file-event selector")
            #expect(selected.fileEvents.count == everything.fileEvents.count, "\(name)")
        }
    }
}
