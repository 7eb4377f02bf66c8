import Foundation
import Testing
import TestSupport

/// Runs the built `audisp-lkm` and returns its exit status, standard output and error.
func audispLKM(_ arguments: [String], stdin: Data? = nil, executable: String? = nil) throws -> (status: Int32, out: String, err: String) {
    let process = Foundation.Process()
    process.executableURL = executable.map(URL.init(fileURLWithPath:)) ?? TestData.executable
    process.arguments = arguments
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

@Suite("audisp-lkm replay, end to end")
struct ReplayCommandTests {
    let fixture = TestData.kernelFixture("x86_64-i386.log").path

    @Test("--events prints one JSON document per file event and a summary on stderr")
    func eventsJSON() throws {
        let run = try audispLKM(["replay", "--events", fixture])
        #expect(run.status == 0)
        let lines = run.out.split(separator: "\n")
        #expect(lines.count == 27)
        for line in lines {
            let document = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(document?["file"] != nil)
        }
        #expect(run.err.contains("455 records"))
        #expect(run.err.contains("27 file events"))
        #expect(run.err.contains("0 with unresolved paths"))
    }

    @Test("the same log gives the same output, run after run: cloned hosts' watch removals of one millisecond in host order")
    func deterministicOrder() throws {
        // Two cloned hosts remove the watches in the same milliseconds; the open bursts are
        // kept in a table whose order changes from one process to the next.
        let fleet = TestData.kernelFixture("report-fleet.log.gz").path
        var outputs: Set<String> = []
        for _ in 0 ..< 4 {
            let run = try audispLKM(["replay", "--format", "text", fleet])
            #expect(run.status == 0)
            let removals = run.out.split(separator: "\n").filter { $0.contains("action=audit-watch-removed") }
            let hosts = removals.map { line in line.split(separator: " ").first { $0.hasPrefix("node=") } ?? "" }
            #expect(hosts == ["node=alpha", "node=beta", "node=alpha", "node=beta"], "\(hosts)")
            outputs.insert(run.out)
        }
        #expect(outputs.count == 1)
    }

    @Test("the evasion fixture: every route alerts; unknown names say undecided; watch removals alert with --watch-key")
    func evasion() throws {
        let log = TestData.kernelFixture("evasion.log").path
        let run = try audispLKM(["replay", "--format", "text", "--explain", "--watch-key", "lkmfix", log])
        #expect(run.status == 0)
        let lines = run.out.split(separator: "\n")
        let creations = lines.filter { $0.hasPrefix("alert=\"Loadable Kernel Module Configuration File Creation\"") }
        let removals = lines.filter { $0.hasPrefix("alert=\"Audit Watch on Kernel Module Configuration Removed\"") }
        // 23 of the 25 file events are in module directories (two of them spelt through bind
        // mounts); events logged for the watch key are parsed whatever their names.
        #expect(creations.count == 23)
        #expect(creations.filter { $0.contains("spelled_path=") }.count == 2)
        // The 10 names io_uring did not log, and the same-text rename of step 3.
        #expect(lines.filter { $0.contains("verdict=undecided") }.count == 11)
        // Twelve rules removed (one by -W, eleven by -D, three of them io_uring), and auditing
        // switched off once: three senders, so three alerts, each saying what it removed.
        let removed = removals.filter { $0.contains("action=audit-watch-removed") }.map { KeyValueText.parse($0) }
        #expect(removed.count == 2)
        let byW = removed.first { $0["command_line"] == "auditctl -W /etc/modprobe.d -p wa -k lkmfix" }
        let byD = removed.first { $0["command_line"] == "auditctl -D -k lkmfix" }
        #expect(byW?["removed"] == "exit:1" && byW?["executable"] == "/usr/sbin/auditctl", "\(removed)")
        #expect(removals.contains { $0.contains("command_line=\"auditctl -D -k lkmfix\" removed=exit:8 removed=io_uring:3") }, "\(removals)")
        #expect(byD?["restored"] == "0")
        #expect(removed.allSatisfy { $0["op"] == "remove_rule" && $0["key"] == "lkmfix" && $0["auid_name"] == "unset" })
        #expect(removals.filter { $0.contains("action=auditing-disabled") }.count == 1)
        #expect(run.err.contains("11 undecided"))
        #expect(run.err.contains("3 watch-removal alerts"))
        #expect(run.err.contains("14 io_uring operations"))
        // The late place replaced by a mount, by a directory renamed in, by one renamed over
        // it, then by a symbolic link.
        let replaced = lines.filter { $0.hasPrefix("alert=\"Kernel Module Configuration Directory Replaced\"") }
        #expect(replaced.count == 4)
        #expect(replaced.allSatisfy { $0.contains("action=directory-replacement") && $0.contains("path=/run/modules-load.d ") })
        #expect(replaced.map { $0.contains("original_path=/var/tmp/lkmfix/msrc ") } == [true, false, false, false])
        #expect(replaced.map { $0.contains("original_path=/run/modules-load.d.new ") } == [false, true, false, false])
        #expect(replaced.map { $0.contains("original_path=/run/modules-load.d.new3 ") } == [false, false, true, false])
        #expect(replaced.last?.contains("original_path=/var/tmp/lkmfix ") == true)
        #expect(run.err.contains("4 directory replacements"))
        // With the default key the fixture's removals are another detector's; switching auditing off is everyone's.
        let other = try audispLKM(["replay", "--format", "text", log])
        #expect(other.out.split(separator: "\n").filter { $0.contains("Audit Watch on Kernel Module Configuration Removed") }
            .map { $0.contains("action=auditing-disabled") } == [true])
    }

    @Test("standard input ('-' or no file) reads the same")
    func standardInput() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture))
        let fromFile = try audispLKM(["replay", "--events", "--format", "text", fixture])
        let fromDash = try audispLKM(["replay", "--events", "--format", "text", "-"], stdin: data)
        let fromNothing = try audispLKM(["replay", "--events", "--format", "text"], stdin: data)
        #expect(fromDash.out == fromFile.out)
        #expect(fromNothing.out == fromFile.out)
        #expect(fromFile.out.split(separator: "\n").count == 27)
    }

    @Test("a rotation set given newest first is read oldest first")
    func rotationOrder() throws {
        try withTemporaryDirectory { directory in
            // The fixture cut in two: audit.log.1 (older) holds the exec records that name the
            // programs, audit.log (newer) the rest. Read in the wrong order, the executables
            // of the file events in audit.log would fall back to exe.
            let lines = try recordLines(URL(fileURLWithPath: fixture))
            let half = lines.count / 2
            try Data(joined(Array(lines[..<half]))).write(to: directory.appendingPathComponent("audit.log.1"))
            try Data(joined(Array(lines[half...]))).write(to: directory.appendingPathComponent("audit.log"))
            let files = ["audit.log", "audit.log.1"].map { directory.appendingPathComponent($0).path }
            let run = try audispLKM(["replay", "--events", "--format", "text"] + files)
            let whole = try audispLKM(["replay", "--events", "--format", "text", fixture])
            #expect(run.status == 0)
            #expect(run.out == whole.out)
        }
    }

    @Test("`ausearch -i` output is refused with status 2 and a line naming --raw")
    func interpretedRefused() throws {
        let run = try audispLKM(["replay", "--events", TestData.kernelFixture("x86_64-i386.interpreted.txt").path])
        #expect(run.status == 2)
        #expect(run.out.isEmpty)
        #expect(run.err.split(separator: "\n").count == 1)
        #expect(run.err.contains("--raw"))
    }

    @Test("a missing file is status 2 with one line", arguments: [["replay", "--events", "/nonexistent/audit.log"],
                                                                   ["replay", "--events", "--format", "xml", "-"],
                                                                   ["replay", "--events", "/"]])
    func unusableArguments(arguments: [String]) throws {
        let run = try audispLKM(arguments)
        #expect(run.status == 2)
        #expect(run.err.split(separator: "\n").count == 1)
        #expect(run.err.hasPrefix("audisp-lkm: "))
    }

    @Test("an empty input is success with zero counts")
    func emptyInput() throws {
        let run = try audispLKM(["replay", "--events", "-"], stdin: Data())
        #expect(run.status == 0)
        #expect(run.out.isEmpty)
        #expect(run.err.contains("0 records"))
    }

    @Test("--help teaches: formats, inputs, examples")
    func help() throws {
        let run = try audispLKM(["replay", "--help"])
        #expect(run.status == 0)
        for phrase in ["--events", "--format", "--explain", "--rule", "--max-alerts", "ausearch --raw", "audit.log.4", "Examples"] {
            #expect(run.out.contains(phrase), "\(phrase)")
        }
    }

    @Test("replay prints one ECS alert per matching event, with the rule's metadata and MITRE threat")
    func alertsJSON() throws {
        let run = try audispLKM(["replay", fixture])
        #expect(run.status == 0)
        let lines = run.out.split(separator: "\n")
        // 24 of the rule; the recording's open of an existing file for writing (lkmops
        // open-existing), which the modification rule raises; and the two creations the
        // rule excluded by the name of a script in /var/tmp, "droplet-agent.postinst",
        // which borrows the name (BorrowedExclusionRule).
        #expect(lines.count == 27)
        var modified: [[String: Any]] = []
        var borrowed: [[String: Any]] = []
        for line in lines {
            let alert = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let rule = alert["rule"] as? [String: Any]
            if rule?["name"] as? String == "Kernel Module Configuration File Modified" {
                modified.append(alert)
                continue
            }
            if rule?["name"] as? String == "Kernel Module Configuration File Creation by a Program Borrowing an Exclusion" {
                borrowed.append(alert)
                continue
            }
            #expect(rule?["name"] as? String == "Loadable Kernel Module Configuration File Creation")
            #expect(rule?["version"] as? String == "1")
            #expect((alert["event"] as? [String: Any])?["kind"] as? String == "alert")
            #expect((alert["kibana"] as? [String: Any]).flatMap { $0["alert"] as? [String: Any] }?["risk_score"] as? Int == 21)
            let threat = alert["threat"] as? [[String: Any]]
            #expect(threat?.count == 2)
        }
        #expect(run.err.contains("26 candidates, 24 alerts, 2 excluded"))
        #expect(modified.count == 1)
        #expect(jsonField(modified.first ?? [:], "event.action") as? String == "modification")
        #expect(jsonField(modified.first ?? [:], "file.path") as? String == "/etc/modprobe.d/lkmfix-openat.conf")
        #expect(jsonField(modified.first ?? [:], "auditd.syscall") as? String == "openat")
        #expect(run.err.contains("1 modification alerts"))
        #expect(borrowed.count == 2)
        for alert in borrowed {
            let clause = (jsonField(alert, "audisp_lkm.borrowed") as? [[String: Any]])?.first
            #expect(clause?["clause"] as? String == "process.name == \"droplet-agent.postinst\"", "\(String(describing: clause))")
            #expect((clause?["because"] as? String)?.contains("/var/tmp/") == true, "\(String(describing: clause))")
        }
        #expect(run.err.contains("2 excluded through borrowed clauses"))
        // Off with one option: the modification rule's alert goes.
        let without = try audispLKM(["replay", "--no-modification-rule", fixture])
        #expect(without.out.split(separator: "\n").count == 26)
    }

    @Test("--explain says which pattern matched and which exclusion removed an event")
    func explain() throws {
        let run = try audispLKM(["replay", "--explain", "--format", "text", fixture])
        let explanations = run.out.split(separator: "\n").filter { $0.hasPrefix("explain=") }
        // The rule's 26 candidates, and the modification the companion rule judged as a creation.
        #expect(explanations.count == 27)
        #expect(explanations.contains { $0.contains("verdict=excluded") && $0.contains("process.name == \\\"droplet-agent.postinst\\\"") })
        #expect(explanations.contains { $0.contains("verdict=alert") && $0.contains("file.path like~ \\\"/usr/lib/modprobe.d/*\\\"") })
    }

    @Test("--explain --format json: every line is a JSON document, the explanations documents of their own")
    func explainJSON() throws {
        let run = try audispLKM(["replay", "--explain", "--format", "json", fixture])
        let documents = try run.out.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
        }
        let explanations = documents.compactMap { jsonField($0, "audisp_lkm.explain") as? [String: Any] }
        #expect(explanations.count == 27)
        #expect(documents.count - explanations.count == 27)
        #expect(explanations.contains { $0["verdict"] as? String == "excluded"
                && ($0["by"] as? String)?.contains("process.name == \"droplet-agent.postinst\"") == true })
        #expect(explanations.allSatisfy { ($0["event_id"] as? String)?.contains(":") == true && $0["path"] is String })
    }

    @Test("--max-alerts caps alerts per group (program and directory) and summarises what each withheld")
    func alertCap() throws {
        let run = try audispLKM(["replay", "--max-alerts", "5", "--window", "300", "--format", "text", fixture])
        let lines = run.out.split(separator: "\n")
        // Of the fixture's 27 alerts, 21 are lkmops's in /etc/modprobe.d (20 creations and
        // renames, one modification: one cap for every rule); the other groups (the i386
        // build, other directories, the scripts) stay under 5 each.
        let summaries = lines.filter { $0.contains("action=alerts-withheld") }
        #expect(lines.count - summaries.count == 11)
        #expect(summaries.count == 1)
        let summary = summaries.first.map { KeyValueText.parse($0) } ?? [:]
        #expect(summary["executable"] == "/var/tmp/lkmfix/lkmops" && summary["directory"] == "/etc/modprobe.d")
        #expect(summary["withheld"] == "16")
        // Ten PATH@ID entries (a path may hold a space: the fixture has one).
        let sample = summary["sample"] ?? ""
        #expect(sample.filter { $0 == "@" }.count == 10)
        #expect(sample.hasPrefix("/etc/modprobe.d/") && sample.components(separatedBy: " /etc/modprobe.d/").count == 10)
        #expect(run.err.contains("16 withheld by --max-alerts"))
        // A ceiling of 7 over all groups: 7 alerts, and the notice saying so.
        let capped = try audispLKM(["replay", "--max-alerts", "5", "--ceiling", "7", "--format", "text", fixture])
        let cappedLines = capped.out.split(separator: "\n")
        #expect(cappedLines.filter { $0.hasPrefix("alert=") && !$0.contains("alerts-withheld") }.count == 7)
        #expect(cappedLines.filter { $0.contains("alert ceiling reached") }.count == 1)
    }

    @Test("--rule loads another TOML; a broken one is status 2 with the reason")
    func ruleFile() throws {
        try withTemporaryDirectory { directory in
            let only = directory.appendingPathComponent("only-modules.toml")
            try """
            [rule]
            name = "Only /etc/modules"
            rule_id = "test"
            description = "test"
            severity = "high"
            risk_score = 73
            query = 'file where file.path == "/etc/modules"'
            """.write(to: only, atomically: true, encoding: .utf8)
            let run = try audispLKM(["replay", "--rule", only.path, "--format", "text", fixture])
            #expect(run.status == 0)
            #expect(run.out.split(separator: "\n").count == 1)
            #expect(run.out.contains("severity=high"))

            let broken = directory.appendingPathComponent("broken.toml")
            try "[rule]\nname = \"x\"\nrule_id = \"x\"\ndescription = \"x\"\nseverity = \"low\"\nrisk_score = 1\nquery = 'process where true'\n"
                .write(to: broken, atomically: true, encoding: .utf8)
            let bad = try audispLKM(["replay", "--rule", broken.path, fixture])
            #expect(bad.status == 2)
            #expect(bad.err.contains("event category 'process'"))
        }
    }
}
