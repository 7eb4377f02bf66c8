@testable import FileEvents
import Foundation
import HostFiles
@testable import RuleEngine
import Testing
import TestSupport

/// Files io_uring made whose name the kernel did not log: what the rule can and cannot
/// decide from the directory alone.
@Suite("Unknown names: three-valued verdicts from the directory")
struct UnknownNameTests {
    /// A creation in `directory` whose name is unknown.
    func nameless(in directory: String, executable: String = "/usr/bin/cp") -> FileEvent {
        var event = fileEvent(path: nil, executable: executable)
        event.file.directory = RawPath(directory)
        event.file.unresolvedReason = "the kernel logged no name for this item (io_uring); the directory is known"
        return event
    }

    @Test("a pattern decides for every name in a directory, none, or depends on the name", arguments: [
        ("/etc/modprobe.d/*", "/etc/modprobe.d", true, "DIR/* covers every name in DIR"),
        ("/ETC/MODPROBE.D/*", "/etc/modprobe.d", true, "like~ folds case for the directory too"),
        ("/etc/*", "/etc/modprobe.d", true, "a star before the directory covers it"),
        ("/etc/modprobe.d/*", "/tmp", false, "another directory: no name can match"),
        ("/etc/modprobe.d/*", "/etc", false, "the parent: a name has no '/', so never modprobe.d/x"),
        ("/etc/modules", "/etc", nil, "the name could be 'modules'"),
        ("/etc/modprobe.d/*.conf", "/etc/modprobe.d", nil, "the name could end in .conf, or not"),
        ("/etc/modprobe.d/*", "/etc/modprobe.d.old", false, "a neighbour with the same prefix"),
        ("*", "/anywhere", true, "a lone star covers everything"),
    ] as [(String, String, Bool?, String)])
    func patterns(pattern: String, directory: String, expected: Bool?, reason: String) {
        let compiled = WildcardPattern(pattern, caseInsensitive: pattern.contains("ETC"))
        #expect(compiled.decide(inDirectory: Array(directory.utf8)) == expected, "\(reason)")
    }

    @Test("Kleene's and, or and not; name tests are unknown, other fields decide as usual")
    func logic() throws {
        let event = nameless(in: "/etc/modprobe.d")
        func decide(_ text: String) throws -> Bool? { try condition(text).decide(event) }
        #expect(try decide("file.path like~ \"/etc/modprobe.d/*\"") == true)
        #expect(try decide("file.extension in (\"swp\")") == nil)
        #expect(try decide("file.name : \"sed*\"") == nil)
        #expect(try decide("file.name != null") == true, "every file has a name")
        #expect(try decide("file.extension != null") == nil)
        #expect(try decide("process.name == \"sed\" and file.name : \"sed*\"") == false, "false and unknown")
        #expect(try decide("process.name == \"cp\" or file.extension == \"swp\"") == true, "true or unknown")
        #expect(try decide("not file.extension == \"swp\"") == nil)
        #expect(try decide("file.path == \"/etc/modprobe.d/x.conf\"") == nil, "== with a value in the directory")
        #expect(try decide("file.path == \"/etc/modules\"") == false, "== with a value elsewhere")
    }

    @Test("with the built-in rule: undecided alert in a module directory, no candidate elsewhere, excluded by program")
    func builtInRule() {
        var engine = RuleEngine(rule: DetectionRule.defaultRule())
        // The name could be an editor's swap file (excluded by extension): undecided, and it alerts.
        let inPlace = engine.evaluate(nameless(in: "/etc/modprobe.d"))
        let elsewhere = engine.evaluate(nameless(in: "/tmp"))
        let byDpkg = engine.evaluate(nameless(in: "/etc/modprobe.d", executable: "/usr/bin/dpkg"))
        #expect(inPlace == .undecided && inPlace.raisesAlert)
        #expect(engine.explanation(of: inPlace, for: nameless(in: "/etc/modprobe.d")).first?.hasSuffix("the file's name") == true)
        #expect(elsewhere == .notCandidate)
        // An exclusion that does not depend on the name decides.
        #expect(byDpkg == .excluded(exclusion: 0))
        #expect(engine.statistics.undecided == 1)
    }

    @Test("a program no record names is unknown, not missing: `!= null` holds, exclusions by program are undecided")
    func unknownProgram() throws {
        var event = fileEvent(executable: nil)
        event.process.executableUnknown = true
        #expect(try condition("process.executable != null").decide(event) == true)
        #expect(try condition("process.name in (\"dpkg\")").decide(event) == nil)
        var engine = RuleEngine(rule: DetectionRule.defaultRule())
        #expect(engine.evaluate(event) == .undecided)
        // Without the mark, a missing executable is what Elastic means by null: no candidate.
        #expect(engine.evaluate(fileEvent(executable: nil)) == .notCandidate)
    }

    @Test("a rename read two ways (same-text PARENT items): undecided when only one reading alerts")
    func twoReadings() {
        var engine = RuleEngine(rule: DetectionRule.defaultRule())
        var event = fileEvent(action: .rename, path: "/etc/modprobe.d/x.conf", original: "/tmp/a.conf")
        event.file.hasAlternative = true
        event.file.alternativePath = "/tmp/x.conf"
        #expect(engine.evaluate(event) == .undecided)
        event.serial += 1
        event.file.alternativePath = "/etc/modules-load.d/x.conf"
        #expect(engine.evaluate(event) == .alert, "both readings alert")
        event.serial += 1
        event.file.alternativePath = nil
        #expect(engine.evaluate(event) == .undecided, "the other reading's directory is unknown")
    }

    @Test("alerted identities are bounded by count and by log time, and still catch a duplicate")
    func boundedIdentities() {
        var seen = AlertedEvents(window: 60, capacity: 1000)
        func event(_ serial: UInt64, at seconds: Int) -> FileEvent {
            var event = fileEvent(path: "/etc/modprobe.d/\(serial).conf")
            event.serial = serial
            event.seconds = seconds
            return event
        }
        var inserted = 0
        for serial in 0 ..< 5000 where seen.insert(event(UInt64(serial), at: 1000)) { inserted += 1 }
        #expect(inserted == 5000)
        #expect(seen.count == 1000)
        let duplicate = seen.insert(event(4999, at: 1000))
        #expect(!duplicate, "a recent duplicate is still one")
        // An hour later in log time, everything older than the window is gone.
        let later = seen.insert(event(10_000, at: 4600))
        #expect(later)
        #expect(seen.count == 1)
    }
}
