@testable import AuditReading
@testable import Detection
import FileEvents
import Foundation
import RuleEngine
import Testing
import TestSupport

/// The detector's selection (which events libauparse parses when only alerts are wanted)
/// must never change a finding: the alerts equal the verdicts of reading every file
/// event, whatever key the log's watches have.
@Suite("Detector: one pipeline; its selection loses nothing")
struct DetectorTests {
    /// What a run found, in order: each alert (rule, event id, path) and the counts.
    struct Run {
        var alerts: [String] = []
        var statistics = ReadStatistics()
        var fileEvents = 0
        /// `ModificationRule`'s alerts (only `.alerts` reads changes to existing files).
        var modifications: [String] = []
        /// Every finding, in order: its kind, event and verdict.
        var findings: [String] = []
    }

    /// Reads `files` through a detector for `purpose`: on this thread, or with
    /// `twoThreadBatch` through a `DetectionPipeline` whose threads meet every so many bytes.
    func run(_ files: [String], purpose: Detector.Purpose, watchKeys: [String],
             rule: DetectionRule = DetectionRule.defaultRule(), twoThreadBatch: Int? = nil,
             directoriesPerBatch: Int = 2048) throws -> Run {
        let detector = Detector(settings: Detector.Settings(rule: rule, watchKeys: watchKeys,
                                                            usrMerge: UsrMerge(isMerged: true), purpose: purpose))
        var result = Run()
        func handle(_ finding: Finding) {
            result.findings.append(Self.describe(finding))
            switch finding {
            case .file(let event, let verdict, _):
                result.fileEvents += 1
                if verdict.raisesAlert {
                    result.alerts.append("file \(event.eventID) \(event.file.path?.text ?? "-") \(verdict)")
                }
            case .modification(let event, let verdict, _):
                if verdict.raisesAlert { result.modifications.append("\(event.eventID) \(event.file.path?.text ?? "-")") }
            case .directoryReplacement(let event):
                result.alerts.append("replacement \(event.eventID) \(event.file.path?.text ?? "-")")
            case .ruleChange, .borrowedExclusion:
                break
            case .watchRemoval(let burst):
                result.alerts.append("watch-removal \(burst.first.seconds).\(burst.first.serial) \(burst.removedCount)")
            case .capSummary, .notice:
                break
            }
        }
        if let twoThreadBatch {
            let pipeline = DetectionPipeline(detector: detector, batchBytes: twoThreadBatch,
                                             directoriesPerBatch: directoriesPerBatch, emit: handle)
            for file in files { try pipeline.reader.read(try LogInput(path: file)) }
            pipeline.finish()
            result.statistics = pipeline.reader.statistics
            return result
        }
        let reader = detector.reader(emit: handle)
        for file in files {
            try reader.read(try LogInput(path: file))
        }
        reader.finish()
        detector.finish(emit: handle)
        result.statistics = reader.statistics
        return result
    }

    static func describe(_ finding: Finding) -> String {
        switch finding {
        case .file(let event, let verdict, let withheld): "file \(event.eventID) \(event.file.path?.text ?? "-") \(verdict) \(withheld)"
        case .modification(let event, let verdict, let withheld): "modification \(event.eventID) \(verdict) \(withheld)"
        case .borrowedExclusion(let event, _, let withheld): "borrowed \(event.eventID) \(withheld)"
        case .directoryReplacement(let event): "replacement \(event.eventID) \(event.file.path?.text ?? "-")"
        case .ruleChange(let change, let removesWatch): "rule-change \(change.seconds).\(change.serial) \(removesWatch)"
        case .watchRemoval(let burst): "watch-removal \(burst.first.seconds).\(burst.first.serial) \(burst.removedCount)"
        case .capSummary: "cap"
        case .notice(let text): "notice \(text)"
        }
    }

    @Test("on two threads: the same findings in the same order, however often the threads meet", arguments: fixtures)
    func twoThreads(_ name: String) throws {
        let log = TestData.kernelFixture(name).path
        for purpose in [Detector.Purpose.alerts, .fileEvents] {
            for keys in [["audisp-lkm"], ["lkmfix"]] {
                let one = try run([log], purpose: purpose, watchKeys: keys)
                #expect(!one.findings.isEmpty)
                // Batches of one event up to the default; hand-overs after every batch, and
                // held back for as many batches as directories are known.
                for (batch, directoriesPerBatch) in [(1, 2048), (1 << 12, 2048), (DetectionPipeline.defaultBatchBytes, 2048),
                                                     (1, 1), (1 << 10, 1)] {
                    let two = try run([log], purpose: purpose, watchKeys: keys, twoThreadBatch: batch,
                                      directoriesPerBatch: directoriesPerBatch)
                    #expect(two.findings == one.findings,
                            "\(name), \(purpose), \(keys[0]), batches of \(batch) bytes, \(directoriesPerBatch) per batch")
                    // The selection may run ahead of what the processing has learned: it
                    // parses as much or more, never less.
                    #expect(two.statistics.parsedEvents >= one.statistics.parsedEvents)
                    #expect(two.statistics.events == one.statistics.events)
                }
            }
        }
    }

    /// The alerts of `.alerts` against the alert verdicts of `.fileEvents`, under several
    /// keys: the detector's own, the fixtures' (lkmfix) and a foreign one (CIS's).
    @discardableResult
    func compare(_ files: [String], _ label: String, rule: DetectionRule = DetectionRule.defaultRule())
        throws -> (all: Run, selected: Run, changes: Run) {
        var last: (Run, Run, Run)?
        for keys in [["audisp-lkm"], ["lkmfix"], ["modules"]] {
            let all = try run(files, purpose: .fileEvents, watchKeys: keys, rule: rule)
            let selected = try run(files, purpose: .alerts, watchKeys: keys, rule: rule)
            #expect(selected.alerts.sorted() == all.alerts.sorted(), "\(label), watch key \(keys[0])")
            // Alerts read changes to existing files too (the modification rule): the
            // selection parses no more than the report, which parses every change.
            // On two threads (replay's), meeting every 4 KiB: the same findings, in order.
            let twoThreads = try run(files, purpose: .alerts, watchKeys: keys, rule: rule, twoThreadBatch: 1 << 12)
            #expect(twoThreads.findings == selected.findings, "\(label), watch key \(keys[0]), two threads")
            let changes = try run(files, purpose: .changes, watchKeys: keys, rule: rule)
            #expect(selected.statistics.parsedEvents <= changes.statistics.parsedEvents, "\(label)")
            // ... and finds every modification that parsing every change finds.
            #expect(selected.modifications.sorted() == changes.modifications.sorted(), "\(label), watch key \(keys[0])")
            last = (all, selected, changes)
        }
        return last!
    }

    static let fixtures = ["x86_64-i386.log", "evasion.log", "report/audit.log.1", "report/audit.log",
                           "report-fleet.log.gz", "unclean-stop/audit.log"]

    @Test("every kernel fixture: the same alerts, whatever the watch key", arguments: fixtures)
    func kernelFixture(_ name: String) throws {
        try compare([TestData.kernelFixture(name).path], name)
    }

    @Test("every corpus file: the same alerts", .enabled(if: TestData.corpus != nil || TestData.mandatory))
    func corpus() throws {
        let corpus = try #require(TestData.corpus, "../shared/corpus is missing (AUDISP_LKM_REQUIRE_ALL=1)")
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appendingPathComponent("corpus-stats.json")))
            as! [String: Any]
        let files = Array(stats.keys)
        #expect(files.count > 250)
        for file in files.sorted() {
            try compare([corpus.appendingPathComponent(file).path], file)
        }
    }

    @Test("a write through a bind mount of a place, and from another mount namespace, alert under a foreign key")
    func bindMountAndNamespace() throws {
        // Recorded from the kernel with the key lkmfix: foreign to the default audisp-lkm.
        let log = TestData.kernelFixture("evasion.log").path
        for keys in [["audisp-lkm"], ["modules"]] {
            let alerts = try run([log], purpose: .alerts, watchKeys: keys).alerts
            #expect(alerts.contains { $0.hasPrefix("file ") && $0.contains(" /etc/modprobe.d/lkmfix-bind.conf alert") })
            #expect(alerts.contains { $0.hasPrefix("file ") && $0.contains(" /etc/modprobe.d/lkmfix-ns.conf alert") })
        }
    }

    @Test("overlapping inputs: every rule, the project's own too, alerts once per event", arguments: ["evasion.log", "report-fleet.log.gz"])
    func duplicatedInputs(_ name: String) throws {
        let log = TestData.kernelFixture(name).path
        let once = try run([log], purpose: .alerts, watchKeys: ["audisp-lkm", "lkmfix"]).alerts
        let twice = try run([log, log], purpose: .alerts, watchKeys: ["audisp-lkm", "lkmfix"]).alerts
        #expect(once.contains { $0.hasPrefix("replacement ") } || once.contains { $0.hasPrefix("watch-removal ") })
        #expect(twice.sorted() == once.sorted())
    }

    @Test("names that only look outside (upper case, '..' back in, '//' and '.', hex) are parsed; names outside are not")
    func disguisedNames() throws {
        let original = try String(contentsOf: TestData.kernelFixture("x86_64-i386.log"), encoding: .utf8)
        // Step 1's name, spelt four ways that all resolve into /etc/modprobe.d.
        let disguises = ["\"/ETC/MODPROBE.D/lkmfix-openat.conf\"", "\"/tmp/../etc/modprobe.d/lkmfix-openat.conf\"",
                         "\"//etc/./modprobe.d/lkmfix-openat.conf\"",
                         Array("/etc/modprobe.d/lkmfix-openat.conf".utf8).map { String(format: "%02X", $0) }.joined()]
        try withTemporaryDirectory { directory in
            for (index, disguise) in disguises.enumerated() {
                let log = directory.appendingPathComponent("disguised-\(index).log")
                try original.replacingOccurrences(of: "name=\"/etc/modprobe.d/lkmfix-openat.conf\"", with: "name=\(disguise)")
                    .write(to: log, atomically: true, encoding: .utf8)
                let (all, _, _) = try compare([log.path], disguise)
                #expect(all.alerts.contains { $0.lowercased().contains("/etc/modprobe.d/lkmfix-openat.conf") }, "\(disguise)")
            }
            // Moved out of every watched place (the directory's every name, logged plain or
            // in hex): those creations are no longer parsed once an event has taught the
            // directory they are in. Ten copies of the fixture, each a second apart.
            func hex(_ text: String) -> String { Array(text.utf8).map { String(format: "%02X", $0) }.joined() }
            let outside = original.replacingOccurrences(of: "modprobe.d", with: "unwatched.x")
                .replacingOccurrences(of: hex("modprobe.d"), with: hex("unwatched.x"))
            let moved = directory.appendingPathComponent("moved.log")
            try (0 ..< 10).map { outside.replacingOccurrences(of: "msg=audit(1795", with: "msg=audit(18\($0)5") }.joined()
                .write(to: moved, atomically: true, encoding: .utf8)
            let (_, selected, changes) = try compare([moved.path], "moved")
            #expect(selected.statistics.parsedEvents < changes.statistics.parsedEvents)
        }
    }

    @Test("a change to an existing name logged for the detector's key is parsed whatever its names")
    func changeUnderOwnKey() throws {
        let selection = try #require(EventSelection(rule: DetectionRule.defaultRule(), usrMerge: UsrMerge(isMerged: true),
                                                    watchKeys: ["audisp-lkm"]))
        var summary = EventSummary()
        var item = EventSummary.PathItem()
        item.name = Array("\"/tmp/m/x.conf\"".utf8)   // a bind mount of a place, say
        summary.pathItems = [item]
        #expect(!selection.mayChangePlace(summary))
        // As the kernel logs keys: quoted, or in hex joined by 0x01 when there are several.
        summary.key = Array("\"audisp-lkm\"".utf8)
        #expect(selection.mayChangePlace(summary))
        summary.key = Array(Array("other\u{1}audisp-lkm".utf8).map { String(format: "%02X", $0) }.joined().utf8)
        #expect(selection.mayChangePlace(summary))
        summary.key = Array("\"other\"".utf8)
        #expect(!selection.mayChangePlace(summary))
    }

    @Test("a rule that does not require file.path parses every file event")
    func ruleWithoutPathClause() throws {
        var toml = DetectionRule.defaultRuleTOML
        let query = toml.range(of: "query = '''")!.upperBound ..< toml.range(of: "'''", options: .backwards)!.lowerBound
        toml.replaceSubrange(query, with: "\nfile where process.name == \"lkmops\"\n")
        let pathless = try DetectionRule(toml: toml)
        let log = TestData.kernelFixture("x86_64-i386.log").path
        let (all, selected, _) = try compare([log], "pathless", rule: pathless)
        #expect(selected.statistics.parsedEvents >= all.statistics.parsedEvents)
        #expect(!all.alerts.isEmpty)
    }
}
