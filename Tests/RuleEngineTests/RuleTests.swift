@testable import FileEvents
import Foundation
@testable import RuleEngine
import Testing
import TestSupport

@Suite("The seed rule (version 1), clause by clause")
struct SeedRuleTests {
    let rule = DetectionRule.defaultRule()

    func verdict(_ event: FileEvent) -> RuleEngine.Verdict {
        var engine = RuleEngine(rule: rule)
        return engine.evaluate(event)
    }

    func isAlert(_ event: FileEvent) -> Bool {
        if case .alert = verdict(event) { return true }
        return false
    }

    @Test("metadata: name, id, version 1, severity, risk, MITRE")
    func metadata() {
        #expect(rule.name == "Loadable Kernel Module Configuration File Creation")
        #expect(rule.ruleID == "6e2355cc-c60a-4d92-a80c-e54a45ad2400")
        #expect(rule.version == 1)
        #expect(rule.severity == "low")
        #expect(rule.riskScore == 21)
        #expect(rule.threats.map(\.tactic.id) == ["TA0003", "TA0005"])
        #expect(rule.threats[0].techniques[0].subtechniques.map(\.id) == ["T1547.006"])
        #expect(rule.threats[1].techniques.map(\.entry.id) == ["T1014"])
    }

    @Test("audisp-lkm's own rules: a directory replaced is Persistence T1547.006, a watch removed Defense Evasion T1562.012")
    func ownRulesMetadata() {
        let replaced = DirectoryReplacementRule.metadata
        #expect(replaced.name == "Kernel Module Configuration Directory Replaced")
        #expect(replaced.threats.map(\.tactic.id) == ["TA0003"])
        #expect(replaced.threats.flatMap(\.techniques).map(\.entry.id) == ["T1547"])
        #expect(replaced.threats[0].techniques[0].subtechniques.map(\.id) == ["T1547.006"])
        let removed = WatchRemovalRule.metadata
        #expect(removed.threats.map(\.tactic.id) == ["TA0005"])
        #expect(removed.threats[0].techniques[0].subtechniques.map(\.id) == ["T1562.012"])
    }

    @Test("each path pattern alerts, case-insensitively (like~); neighbours do not", arguments: [
        ("/etc/modules", true), ("/ETC/MODULES", true), ("/etc/modules.bak", false), ("/etc/modprobe.d/a.conf", true),
        ("/usr/lib/modprobe.d/a", true), ("/etc/modules-load.d/x", true), ("/run/modules-load.d/x", true),
        ("/usr/local/lib/modules-load.d/x", true), ("/usr/lib/modules-load.d/x", true),
        ("/run/modprobe.d/x.conf", false), ("/lib/modprobe.d/x", false), ("/etc/modprobe.conf", false),
    ])
    func paths(path: String, alerts: Bool) {
        #expect(isAlert(fileEvent(path: path)) == alerts, "\(path)")
    }

    @Test("creation and rename alert; an event with no executable is not a candidate")
    func actions() {
        #expect(isAlert(fileEvent(action: .rename, original: "/tmp/x")))
        #expect(verdict(fileEvent(executable: nil)) == .notCandidate)
    }

    @Test("every exclusion clause removes its case and spares the near miss", arguments: [
        // (executable, path, original, excluded, clause)
        ("/usr/bin/dpkg", "/etc/modprobe.d/x.conf", nil, true, "process.executable in: dpkg"),
        ("/usr/bin/dpkg2", "/etc/modprobe.d/x.conf", nil, false, "process.executable in: not a prefix match"),
        ("/usr/bin/cp", "/etc/modprobe.d/.x.conf.swp", nil, true, "file.extension swp"),
        ("/usr/bin/cp", "/etc/modprobe.d/x.swp.conf", nil, false, "file.extension is the last one"),
        ("/usr/bin/cp", "/etc/modprobe.d/x.conf.dpkg-remove", nil, true, "file.extension dpkg-remove"),
        ("/usr/bin/mv", "/etc/modprobe.d/x.conf", "/etc/modprobe.d/x.conf.dpkg-new", true, "a .dpkg-new source renamed into place"),
        ("/usr/bin/cp", "/etc/modprobe.d/x.conf.dpkg-new", nil, false, "creating the .dpkg-new itself"),
        ("/nix/store/abc-kmod/bin/x", "/etc/modules", nil, true, "/nix/store/*"),
        ("/opt/nix/store/abc/bin/x", "/etc/modules", nil, false, "/nix/store is anchored"),
        ("/tmp/vmis.x", "/etc/modules", nil, true, "/tmp/vmis.*"),
        ("/tmp/VMIS.x", "/etc/modules", nil, false, "like is case-sensitive"),
        ("/var/lib/dpkg/info/kmod.postinst", "/etc/modules", nil, true, "the kmod postinst script"),
        ("/snap/core/1/usr/bin/x", "/etc/modules", nil, true, "/snap/*"),
        ("/dev/fd/3", "/etc/modules", nil, true, "/dev/fd/* in the like list"),
        ("/proc/self/exe", "/etc/modules", nil, true, "/proc/self/exe in the in list"),
        ("/usr/bin/perl", "/etc/modprobe.d/x.conf", nil, true, "process.name perl"),
        ("/usr/bin/perl5.36", "/etc/modprobe.d/x.conf", nil, false, "process.name is exact"),
        ("/usr/bin/perl", "/etc/modprobe.d/e2scrub_all.tmp1", nil, true, "perl writing e2scrub_all.tmp1"),
        ("/opt/x/droplet-agent.postinst", "/etc/modules", nil, true, "a #! script named droplet-agent.postinst"),
        ("/usr/bin/sed", "/etc/modprobe.d/sedAbC123", nil, true, "sed writing its temporary file"),
        ("/usr/bin/sed", "/etc/modprobe.d/SEDx", nil, true, "file.name : is case-insensitive"),
        ("/usr/bin/sed", "/etc/modprobe.d/x.conf", "/etc/modprobe.d/sedAbC123", false, "sed renaming onto x.conf"),
        ("/usr/bin/python3", "/etc/modprobe.d/x.conf", nil, false, "python is not excluded in version 1"),
    ] as [(String, String, String?, Bool, String)])
    func exclusions(executable: String, path: String, original: String?, excluded: Bool, clause: String) {
        let event = fileEvent(action: original == nil ? .creation : .rename, path: path, original: original, executable: executable)
        if excluded {
            guard case .excluded = verdict(event) else { Issue.record("not excluded: \(clause)"); return }
        } else {
            #expect(isAlert(event), "\(clause)")
        }
    }

    @Test("an event seen twice alerts once; an exchange's two file events alert separately")
    func duplicates() {
        var engine = RuleEngine(rule: rule)
        let event = fileEvent()
        #expect(engine.evaluate(event) != .duplicate)
        #expect(engine.evaluate(event) == .duplicate)
        #expect(engine.evaluate(fileEvent(path: "/etc/modules")) != .duplicate)
        #expect(engine.statistics.alerts == 2)
    }
}

@Suite("Elastic's TOML versions of the rule")
struct UpstreamRuleTests {
    let fixture = TestData.kernelFixture("x86_64-i386.log")

    func load(_ name: String) throws -> DetectionRule {
        let directory = try #require(TestData.upstreamRules, "../shared/upstream-rules is missing")
        return try DetectionRule(toml: String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8))
    }

    @Test("every upstream TOML loads and evaluates", .enabled(if: TestData.upstreamRules != nil || TestData.mandatory))
    func allLoad() throws {
        let directory = try #require(TestData.upstreamRules, "../shared/upstream-rules is missing")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".toml") }
        #expect(names.count == 3)
        for name in names {
            let rule = try load(name)
            var engine = RuleEngine(rule: rule)
            _ = engine.evaluate(fileEvent())
            #expect(rule.ruleID == "6e2355cc-c60a-4d92-a80c-e54a45ad2400", "\(name)")
        }
    }

    @Test("the recorded kernel operations: every route alerts under version 1 but the #! script's",
          .enabled(if: TestData.upstreamRules != nil || TestData.mandatory))
    func fixtureVersion1() throws {
        let events = try replay(files: [fixture.path]).fileEvents
        var engine = RuleEngine(rule: DetectionRule.defaultRule())
        let alerts = events.filter { if case .alert = engine.evaluate($0) { return true } else { return false } }
        // 27 file events: the exchange's reverse direction lands in /var/tmp (not a candidate)
        // and the two made by droplet-agent.postinst are excluded by process.name.
        #expect(alerts.count == 24)
        #expect(engine.statistics.candidates == 26)
        #expect(engine.statistics.excluded == 2)
        #expect(!alerts.contains { $0.process.name?.text == "droplet-agent.postinst" })
        // The embedded rule is the upstream version 1 file.
        let upstream = try load("persistence_lkm_configuration_file_creation.0273997581.toml")
        #expect(upstream.query == DetectionRule.defaultRule().query)
    }

    @Test("under the newest version (6): renames no longer alert, python is excluded, like is case-sensitive",
          .enabled(if: TestData.upstreamRules != nil || TestData.mandatory))
    func newestVersion() throws {
        let newest = try load("persistence_lkm_configuration_file_creation.a973da1a6b.toml")
        let events = try replay(files: [fixture.path]).fileEvents
        var version1 = RuleEngine(rule: DetectionRule.defaultRule())
        var version6 = RuleEngine(rule: newest)
        var renamesAlertedByVersion1 = 0
        for event in events {
            let old = version1.evaluate(event), new = version6.evaluate(event)
            if case .alert = old, event.action == .rename {
                renamesAlertedByVersion1 += 1
                #expect(new == .notCandidate, "rename \(event.file.path?.text ?? "")")
            } else if case .alert = old {
                if case .alert = new {} else { Issue.record("creation lost under v6: \(event.file.path?.text ?? "")") }
            }
        }
        // Steps 13-17, 26 and 29 renamed into the directories (KernelFixtureTests).
        #expect(renamesAlertedByVersion1 == 7)
        #expect(version6.statistics.alerts == version1.statistics.alerts - renamesAlertedByVersion1)
        var python = RuleEngine(rule: newest)
        guard case .excluded = python.evaluate(fileEvent(executable: "/usr/bin/python3.11")) else {
            Issue.record("python not excluded under v6"); return
        }
        var caseSensitive = RuleEngine(rule: newest)
        #expect(caseSensitive.evaluate(fileEvent(path: "/ETC/MODPROBE.D/x.conf")) == .notCandidate)
    }
}

@Suite("TOML subset and the alert cap")
struct TOMLAndLimiterTests {
    @Test("tables, arrays of tables, strings of every kind, arrays, integers")
    func toml() throws {
        let table = try TOMLDocument.parse(#"""
        # comment
        [rule]
        name = "a \"quoted\" name"
        raw = 'C:\path'
        multi = """
        line one
        line two"""
        query = '''
        file where x == "y"
        '''
        risk_score = 21
        tags = [
            "one", # trailing comment
            "two",
        ]
        [[rule.threat]]
        framework = "MITRE ATT&CK"
        [[rule.threat.technique]]
        id = "T1"
        [rule.threat.tactic]
        id = "TA1"
        [[rule.threat]]
        framework = "second"
        """#)
        let rule = try #require(table.table("rule"))
        #expect(rule.string("name") == "a \"quoted\" name")
        #expect(rule.string("raw") == #"C:\path"#)
        #expect(rule.string("multi") == "line one\nline two")
        #expect(rule.string("query") == "file where x == \"y\"\n")
        #expect(rule.integer("risk_score") == 21)
        #expect(rule.strings("tags") == ["one", "two"])
        let threats = rule.tables("threat")
        #expect(threats.count == 2)
        #expect(threats[0].tables("technique").first?.string("id") == "T1")
        #expect(threats[0].table("tactic")?.string("id") == "TA1")
        #expect(threats[1].string("framework") == "second")
    }

    @Test("TOML nested past the limit is refused with its line, never a crash", arguments: [
        "a = " + String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000),
        String(repeating: "k.", count: 30_000) + "k = 1",
        "[" + String(repeating: "t.", count: 30_000) + "t]\nx = 1",
    ])
    func deepTOML(text: String) {
        do {
            _ = try TOMLDocument.parse(text)
            Issue.record("parsed")
        } catch {
            #expect(error.line == 1 && error.message.contains("\(TOMLDocument.maximumDepth)"), "\(error)")
        }
        // At the limit, it parses.
        let atLimit = "a = " + String(repeating: "[", count: TOMLDocument.maximumDepth) + String(repeating: "]", count: TOMLDocument.maximumDepth)
        #expect((try? TOMLDocument.parse(atLimit)) != nil)
    }

    @Test("EQL nested past the limit is refused with its position, never a crash", arguments: [
        "file where " + String(repeating: "not ", count: 9_188) + "process.name == \"x\"",
        "file where " + String(repeating: "(", count: 21_883) + "process.name == \"x\"" + String(repeating: ")", count: 21_883),
    ])
    func deepEQL(query: String) {
        do {
            _ = try EQLParser.parse(query)
            Issue.record("parsed")
        } catch {
            #expect(error.message.contains("\(EQLParser.maximumDepth)") && error.position != nil, "\(error)")
        }
        let atLimit = "file where " + String(repeating: "not ", count: EQLParser.maximumDepth) + "process.name == \"x\""
        #expect((try? EQLParser.parse(atLimit)) != nil)
    }

    @Test("TOML errors name the line", arguments: [
        ("a = 1\nb = {x = 1}", 2), ("a = \"open", 1), ("a = 1\na = 2", 2), ("[t]\nx = 1 y", 2),
    ])
    func tomlErrors(text: String, line: Int) {
        do {
            _ = try TOMLDocument.parse(text)
            Issue.record("parsed: \(text)")
        } catch {
            #expect(error.line == line, "\(error)")
        }
    }

}
