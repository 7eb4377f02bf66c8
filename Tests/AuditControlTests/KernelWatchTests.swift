import Foundation
import FileEvents
import AuditControl
import HostFiles
import RuleEngine
import Testing
import TestSupport

@Suite("Rule locations and the kernel's watches")
struct KernelWatchTests {
    @Test("the built-in rule covers /etc/modules and six directories, read from its file.path clauses")
    func locations() {
        let locations = DetectionRule.defaultRule().locations.map(\.description)
        #expect(locations == ["/etc/modules", "/etc/modprobe.d/", "/usr/lib/modprobe.d/", "/etc/modules-load.d/",
                              "/run/modules-load.d/", "/usr/local/lib/modules-load.d/", "/usr/lib/modules-load.d/"])
    }

    @Test("a location is covered by a watch on itself, on its directory (files only) or on a tree above it")
    func coverage() {
        let rule = [RuleLocation(path: "/etc/modules", isDirectory: false),
                    RuleLocation(path: "/etc/modprobe.d", isDirectory: true),
                    RuleLocation(path: "/usr/lib/modprobe.d", isDirectory: true),
                    RuleLocation(path: "/run/modules-load.d", isDirectory: true)]
        let merged = UsrMerge(isMerged: true)
        func uncovered(_ watches: [KernelWatches.Watch]) -> [RawPath] {
            KernelWatches(watches: watches).uncovered(rule, usrMerge: merged).map(\.path)
        }
        #expect(uncovered([]) == rule.map(\.path))
        // A path= watch on /etc sees /etc/modules being made (PARENT /etc), not files in /etc/modprobe.d.
        #expect(uncovered([.init(path: "/etc", isTree: false)]) == ["/etc/modprobe.d", "/usr/lib/modprobe.d", "/run/modules-load.d"])
        // A dir= watch on /etc covers the whole tree.
        #expect(uncovered([.init(path: "/etc", isTree: true)]) == ["/usr/lib/modprobe.d", "/run/modules-load.d"])
        // /lib/modprobe.d is /usr/lib/modprobe.d on a merged-/usr system, and only there.
        #expect(!uncovered([.init(path: "/lib/modprobe.d", isTree: false)]).contains("/usr/lib/modprobe.d"))
        #expect(KernelWatches(watches: [.init(path: "/lib/modprobe.d", isTree: false)])
            .uncovered(rule, usrMerge: UsrMerge(isMerged: false)).map(\.path).contains("/usr/lib/modprobe.d"))
        // A watch on a neighbour with a common prefix covers nothing.
        #expect(uncovered([.init(path: "/run/modules", isTree: true)]).contains("/run/modules-load.d"))
    }

    @Test("the shipped audit rules watch every location of every upstream version of the rule")
    func shippedRulesCoverTheRule() throws {
        let text = try String(contentsOfFile: TestData.packageRoot.appendingPathComponent("audit-rules/50-audisp-lkm.rules").path,
                              encoding: .utf8)
        var watches: [(arch: String, watch: KernelWatches.Watch)] = []
        for line in text.split(separator: "\n") where line.hasPrefix("-a always,exit") && line.contains(" -F path=") {
            for arch in ["b64", "b32"] where line.contains("-F arch=\(arch) ") {
                let path = line.split(separator: " ").first { $0.hasPrefix("path=") }!.dropFirst(5)
                watches.append((arch, .init(path: RawPath(String(path)), isTree: false)))
            }
        }
        var rules = [DetectionRule.defaultRule()]
        if let directory = TestData.upstreamRules {
            for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasSuffix(".toml") {
                rules.append(try DetectionRule(contentsOf: directory.appendingPathComponent(file).path))
            }
        } else {
            try #require(!TestData.mandatory, "../shared/upstream-rules is missing")
        }
        for arch in ["b64", "b32"] {
            let table = KernelWatches(watches: watches.filter { $0.arch == arch }.map(\.watch))
            for rule in rules {
                // Split /usr too: /lib/modprobe.d must have a watch of its own there.
                #expect(table.uncovered(rule.locations, usrMerge: UsrMerge(isMerged: false)).isEmpty, "\(arch)")
            }
        }
    }
}
