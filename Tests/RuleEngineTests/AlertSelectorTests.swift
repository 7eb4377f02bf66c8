import AuditReading
import FileEvents
import Foundation
import RuleEngine
import Testing
import TestSupport

/// The alert-mode selector skips file events by their logged names; it must never change
/// what the rule decides.
@Suite("Alert selector: skipping file events the rule cannot match, without changing a verdict")
struct AlertSelectorTests {
    let rule = DetectionRule.defaultRule()

    /// Every candidate's event id and verdict, replaying `files` with `selector`.
    func verdicts(_ files: [String], selector: ((EventSummary) -> EventDisposition)?) throws -> ([String], ReplayResult) {
        let result = try replay(files: files, selector: selector)
        var engine = RuleEngine(rule: rule)
        let decided = result.fileEvents.compactMap { event -> String? in
            let verdict = engine.evaluate(event)
            if case .notCandidate = verdict { return nil }
            return "\(event.eventID) \(verdict)"
        }
        return (decided, result)
    }

    /// `watchKeys`: the fixtures' watches have the key lkmfix.
    func compare(_ files: [String], _ label: String, watchKeys: [String] = ["lkmfix"]) throws
        -> (all: ReplayResult, selected: ReplayResult) {
        let selector = try #require(AlertSelector(rule: rule, usrMerge: UsrMerge(isMerged: true), watchKeys: watchKeys))
        let (expected, all) = try verdicts(files) { FileEventNormalizer.disposition($0) }
        let (actual, selected) = try verdicts(files) { selector.disposition($0) }
        #expect(actual == expected, "\(label)")
        return (all, selected)
    }

    @Test("the kernel fixture: same verdicts (dirfd, '..', merged /usr, hex and i386 names)")
    func fixture() throws {
        _ = try compare([TestData.kernelFixture("x86_64-i386.log").path], "fixture")
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
                _ = try compare([log.path], disguise)
            }
            // Moved out of every watched place: those creations are no longer parsed.
            let moved = directory.appendingPathComponent("moved.log")
            try original.replacingOccurrences(of: "/etc/modprobe.d", with: "/srv/unwatched")
                .write(to: moved, atomically: true, encoding: .utf8)
            // (Without the watch key: an event logged for one of ours is parsed whatever its names.)
            let (all, selected) = try compare([moved.path], "moved", watchKeys: [])
            #expect(selected.statistics.parsedEvents < all.statistics.parsedEvents)
        }
    }

    @Test("the evasion fixture: same verdicts; the mkdir of a place and io_uring's (null) names are parsed")
    func evasionFixture() throws {
        let log = TestData.kernelFixture("evasion.log")
        let (_, selected) = try compare([log.path], "evasion")
        // The late directory's creation through a descriptor resolves only if its mkdir
        // (a name equal to a place, not inside one) was parsed.
        #expect(selected.fileEvents.contains { $0.file.path?.text == "/run/modules-load.d/lkmfix-late.conf" })
        #expect(selected.fileEvents.filter { $0.audit.uringOperation != nil }.count == 14)
    }

    @Test("every corpus file: same verdicts", .enabled(if: TestData.corpus != nil || TestData.mandatory))
    func corpus() throws {
        let corpus = try #require(TestData.corpus, "../shared/corpus is missing (AUDISP_LKM_REQUIRE_ALL=1)")
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appendingPathComponent("corpus-stats.json")))
            as! [String: Any]
        let files = Array(stats.keys)
        #expect(files.count > 250)
        for file in files.sorted() {
            _ = try compare([corpus.appendingPathComponent(file).path], file)
        }
    }

    @Test("a rule that does not require file.path gets no selector")
    func ruleWithoutPathClause() throws {
        var toml = DetectionRule.defaultRuleTOML
        let query = toml.range(of: "query = '''")!.upperBound ..< toml.range(of: "'''", options: .backwards)!.lowerBound
        toml.replaceSubrange(query, with: "\nfile where process.name == \"cp\"\n")
        let pathless = try DetectionRule(toml: toml)
        #expect(AlertSelector(rule: pathless, usrMerge: UsrMerge(isMerged: true)) == nil)
    }
}
