import AuditReading
import FileEvents
import HostFiles
import Foundation
import Testing
import TestSupport

/// What each step of Tests/Fixtures/record-fixtures.sh did, written from the operation
/// (not from our output): the file events a faithful normaliser must report, in order.
struct ExpectedFileEvent: CustomStringConvertible {
    var action: FileEvent.Action
    var path: String
    var original: String?
    var executable: String
    var source: ExecutableSource
    var architecture: Architecture = .x86_64

    var description: String { "\(action) \(path) <- \(original ?? "-") by \(executable) (\(source))" }
}

enum KernelFixture {
    static let ops = "/var/tmp/lkmfix/lkmops"
    static let ops32 = "/var/tmp/lkmfix/lkmops32"
    static let script = "/var/tmp/lkmfix/droplet-agent.postinst"
    static let modprobe = "/etc/modprobe.d"

    static func creation(_ path: String, by executable: String = ops, _ source: ExecutableSource = .execRecord,
                         _ architecture: Architecture = .x86_64) -> ExpectedFileEvent {
        ExpectedFileEvent(action: .creation, path: path, executable: executable, source: source, architecture: architecture)
    }

    static func rename(_ path: String, from original: String, by executable: String = ops,
                       _ architecture: Architecture = .x86_64) -> ExpectedFileEvent {
        ExpectedFileEvent(action: .rename, path: path, original: original, executable: executable,
                          source: .execRecord, architecture: architecture)
    }

    /// Steps 6 (failed O_EXCL), 7 (open of an existing file), 12 (mkdir) and 30 (unlink)
    /// make no file event.
    static let expected: [ExpectedFileEvent] = [
        creation("\(modprobe)/lkmfix-openat.conf"),                                   // 1 openat
        creation("\(modprobe)/lkmfix-open.conf"),                                     // 2 open
        creation("\(modprobe)/lkmfix-creat.conf"),                                    // 3 creat, cwd-relative
        creation("\(modprobe)/lkmfix-openat2.conf"),                                  // 4 openat2
        creation("\(modprobe)/lkmfix-dirfd.conf"),                                    // 5 dirfd-relative
        creation("\(modprobe)/lkmfix-tmpfile.conf"),                                  // 8 O_TMPFILE + linkat
        creation("\(modprobe)/lkmfix-link.conf"),                                     // 9 link
        creation("\(modprobe)/lkmfix-symlink.conf"),                                  // 10 symlink
        creation("\(modprobe)/lkmfix-fifo.conf"),                                     // 11 mknod
        rename("\(modprobe)/lkmfix-renamed.conf", from: "/var/tmp/lkmfix/r.conf"),    // 13 rename in
        rename("\(modprobe)/lkmfix-openat.conf", from: "\(modprobe)/lkmfix-open.conf"), // 14 over a file
        rename("\(modprobe)/lkmfix-dirfd-renamed.conf", from: "\(modprobe)/lkmfix-creat.conf"), // 15 dirfds
        rename("\(modprobe)/lkmfix-noreplace.conf", from: "/var/tmp/lkmfix/nr.conf"), // 16 NOREPLACE
        rename("\(modprobe)/lkmfix-openat2.conf", from: "/var/tmp/lkmfix/ex.conf"),  // 17 EXCHANGE, both ways
        rename("/var/tmp/lkmfix/ex.conf", from: "\(modprobe)/lkmfix-openat2.conf"),
        creation("\(modprobe)/lkmfix-dots.conf"),                                     // 18 '..' and '//'
        creation("/usr/lib/modprobe.d/lkmfix-alias.conf"),                            // 19 /lib alias
        creation("\(modprobe)/lkmfix-nl\nx.conf"),                                    // 20 newline
        creation("\(modprobe)/lkmfix-quote\"'.conf"),                                 // 21 quotes
        creation("\(modprobe)/lkmfix-esc\u{1B}[31m.conf"),                            // 22 escape sequence
        creation("\(modprobe)/lkmfix-bin\u{FFFD}\u{FFFD}.conf"),                      // 23 bytes ff fe
        creation("\(modprobe)/lkmfix-sp ace.conf"),                                   // 24 space
        creation("/etc/modules-load.d/lkmfix-i386.conf", by: ops32, .execRecord, .i386),   // 25 i386
        rename("/etc/modules-load.d/lkmfix-i386-renamed.conf", from: "/etc/modules-load.d/lkmfix-i386.conf",
               by: ops32, .i386),                                                     // 26 i386 rename
        creation("/etc/modules", by: script, .execRecord),                            // 27 #! script
        creation("/etc/modules-load.d/lkmfix-script.conf", by: script, .scriptArgument), // 28 its subshell
        rename("/etc/modules-load.d/lkmfix-moved.conf", from: "\(modprobe)/lkmfix-link.conf"), // 29 relative
    ]

    /// Compares actual file events with `expected` field by field; non-UTF-8 bytes compare
    /// as U+FFFD, and step 23 is checked byte-exact separately.
    static func check(_ actual: [FileEvent], against expected: [ExpectedFileEvent] = expected,
                      sourceOverride: ((ExpectedFileEvent) -> (String, ExecutableSource))? = nil) {
        #expect(actual.count == expected.count, "file events: \(actual.map { $0.file.path?.text ?? "?" })")
        for (event, want) in zip(actual, expected) {
            #expect(event.action == want.action, "\(want)")
            #expect(event.file.path?.bytes.text == want.path, "\(want)")
            #expect(event.original?.path?.bytes.text == want.original, "\(want)")
            let (executable, source) = sourceOverride?(want) ?? (want.executable, want.source)
            #expect(event.process.executable?.bytes.text == executable, "\(want)")
            #expect(event.process.executableSource == source, "\(want)")
            #expect(event.audit.architecture == want.architecture, "\(want)")
            #expect(event.file.unresolvedReason == nil, "\(want)")
        }
    }
}

@Suite("File events from records recorded on the real kernel")
struct KernelFixtureTests {
    let log = TestData.kernelFixture("x86_64-i386.log")

    @Test("every creation and rename route yields the file event the operation made")
    func everyRoute() throws {
        let result = try replay(files: [log.path])
        KernelFixture.check(result.fileEvents)
        #expect(result.statistics.malformedLines == 0)
        // Recorded as root from a session with no login uid: the ENRICHED names say so.
        #expect(result.fileEvents.allSatisfy { $0.user.effectiveName == "root" && $0.user.realName == "root" })
        #expect(result.fileEvents.allSatisfy { $0.user.auditName == "unset" })
        // Without the selector, libauparse parses everything and the file events are the same.
        let unselected = try replay(files: [log.path], selecting: false)
        KernelFixture.check(unselected.fileEvents)
        #expect(unselected.statistics.parsedEvents == result.statistics.events)
        #expect(result.statistics.parsedEvents < result.statistics.events)
    }

    @Test("non-UTF-8 names keep their exact bytes")
    func exactBytes() throws {
        let result = try replay(files: [log.path])
        let binary = result.fileEvents.first { $0.file.path?.text.contains("lkmfix-bin") == true }
        let expected: [UInt8] = Array("/etc/modprobe.d/lkmfix-bin".utf8) + [0xFF, 0xFE] + Array(".conf".utf8)
        #expect(binary?.file.path == RawPath(bytes: expected))
    }

    @Test("file.name and file.extension follow the resolved path")
    func nameAndExtension() throws {
        let result = try replay(files: [log.path])
        let alias = try #require(result.fileEvents.first { $0.file.path?.text.hasSuffix("lkmfix-alias.conf") == true })
        #expect(alias.file.name?.text == "lkmfix-alias.conf")
        #expect(alias.file.fileExtension?.text == "conf")
        let modules = try #require(result.fileEvents.first { $0.file.path?.text == "/etc/modules" })
        #expect(modules.file.fileExtension == nil)
    }

    @Test("the parent's program comes from its exec record: the script's forked subshell names the script; none without one")
    func parentExecutable() throws {
        let result = try replay(files: [log.path])
        let subshell = try #require(result.fileEvents.first { $0.file.path?.text == "/etc/modules-load.d/lkmfix-script.conf" })
        #expect(subshell.process.parentExecutable?.text == KernelFixture.script)
        // The recorder's own shell ran before the recording: its exec is not in the stream.
        let script = try #require(result.fileEvents.first { $0.file.path?.text == "/etc/modules" })
        #expect(script.process.parentExecutable == nil)
    }

    @Test("RAW log format (no ENRICHED suffix) gives the same file events")
    func rawFormat() throws {
        let lines = try recordLines(log).map { line in
            Array(line.prefix { $0 != 0x1D })
        }
        let result = try replay(joined(lines))
        KernelFixture.check(result.fileEvents)
        #expect(result.fileEvents.allSatisfy { $0.user.auditName == nil })
    }

    @Test("node= prefixes give the same file events, with host.name")
    func nodePrefix() throws {
        let lines = try recordLines(log).map { Array("node=web-01 ".utf8) + $0 }
        let result = try replay(joined(lines))
        KernelFixture.check(result.fileEvents)
        #expect(result.fileEvents.allSatisfy { $0.node == "web-01" })
    }

    @Test("ausearch's default output (reversed records in ---- blocks) gives the same file events")
    func ausearchDefaultOutput() throws {
        let result = try replay(files: [TestData.kernelFixture("x86_64-i386.ausearch.txt").path])
        KernelFixture.check(result.fileEvents)
    }

    @Test("`ausearch -i` output is refused")
    func interpretedOutputRefused() throws {
        let result = try replay(files: [TestData.kernelFixture("x86_64-i386.interpreted.txt").path])
        guard case .interpreted = result.error else {
            Issue.record("expected the interpreted-output error, got \(String(describing: result.error))")
            return
        }
        #expect(result.error!.description.contains("--raw"))
    }

    @Test("without exec records the script is found in PROCTITLE, binaries from exe")
    func withoutExecRecords() throws {
        // Drop whole execve events (syscall=59) as a log without exec tracking would lack them.
        let lines = try recordLines(log)
        let execIDs = Set(lines.filter { $0.text.hasPrefix("type=SYSCALL") && $0.text.contains(" syscall=59 ") }
            .map(auditEventID))
        let result = try replay(joined(lines.filter { !execIDs.contains(auditEventID($0)) }))
        KernelFixture.check(result.fileEvents) { want in
            want.executable == KernelFixture.script ? (want.executable, .scriptArgument) : (want.executable, .syscallExe)
        }
    }

    @Test("records interleaved between neighbouring events regroup into the same events")
    func interleaved() throws {
        // Swap each event's second record with the next event's first: records of two
        // serials alternate, as they do when CPUs log at once.
        var lines = try recordLines(log).map { Array($0.prefix { $0 != 0x1D }) }
        var index = 1
        while index + 1 < lines.count {
            if auditEventID(lines[index]) != auditEventID(lines[index + 1]) && auditEventID(lines[index - 1]) == auditEventID(lines[index]) {
                lines.swapAt(index, index + 1)
                index += 3
            } else {
                index += 1
            }
        }
        let result = try replay(joined(lines))
        #expect(result.statistics.events == (try replay(files: [log.path])).statistics.events)
        #expect(result.normalizer.incompleteEvents == 0)
        KernelFixture.check(result.fileEvents)
    }

    @Test("the aarch64 table: the same operations with the generic syscall numbers")
    func aarch64Table() throws {
        // aarch64 cannot be recorded here; rewrite the x86_64 records' arch and syscall
        // numbers to the generic table (asm-generic/unistd.h) and keep everything else.
        let generic: [String: String] = ["257": "56", "437": "437", "265": "37", "264": "38", "316": "276", "59": "221"]
        let lines = try recordLines(log).map { line -> [UInt8] in
            var text = line.text
            guard text.hasPrefix("type=SYSCALL"), text.contains("arch=c000003e") else { return line }
            let number = text.split(separator: " ").first { $0.hasPrefix("syscall=") }!.dropFirst(8)
            guard let mapped = generic[String(number)] else { return line }
            text = text.replacingOccurrences(of: "arch=c000003e", with: "arch=c00000b7")
                .replacingOccurrences(of: " syscall=\(number) ", with: " syscall=\(mapped) ")
            return Array(text.utf8)
        }
        let result = try replay(joined(lines))
        let aarch64 = result.fileEvents.filter { $0.audit.architecture == .aarch64 }
        // open, creat, link, symlink, mknod and rename do not exist on aarch64.
        let names = aarch64.map { $0.file.path?.text ?? "?" }
        #expect(names.contains("/etc/modprobe.d/lkmfix-dirfd.conf"))
        #expect(names.contains("/etc/modprobe.d/lkmfix-tmpfile.conf"))
        #expect(names.contains("/etc/modules-load.d/lkmfix-moved.conf"))
        // aarch64's execve (221) was understood: no event fell back to exe.
        #expect(aarch64.allSatisfy { $0.process.executableSource != .syscallExe })
        #expect(!names.contains("/etc/modprobe.d/lkmfix-open.conf"))
    }

    @Test("a dirfd-relative name whose directory the stream never named is reported unresolved, not guessed")
    func unresolvedDirectory() throws {
        // Only step 5's event: nothing before it tells which directory inode 'dirfd' is.
        let lines = try recordLines(log)
        let syscall = try #require(lines.first { $0.text.contains(" syscall=257 ") && $0.text.contains(" a0=3 ") })
        let id = auditEventID(syscall)
        let result = try replay(joined(lines.filter { auditEventID($0) == id }))
        let event = try #require(result.fileEvents.first)
        #expect(event.file.path == nil)
        #expect(event.file.name?.text == "lkmfix-dirfd.conf")
        #expect(event.file.unresolvedReason?.contains("directory fd 3") == true)
        #expect(result.normalizer.unresolvedPaths == 1)
    }

    @Test("a (null) name is reported unresolved")
    func nullName() throws {
        let lines = try recordLines(log)
        let creation = try #require(lines.first { $0.text.hasPrefix("type=PATH") && $0.text.contains("lkmfix-openat.conf\" inode") && $0.text.contains("nametype=CREATE") })
        let id = auditEventID(creation)
        let event = lines.filter { auditEventID($0) == id }.map { line -> [UInt8] in
            line == creation ? Array(line.text.replacingOccurrences(of: "name=\"/etc/modprobe.d/lkmfix-openat.conf\"", with: "name=(null)").utf8) : line
        }
        let result = try replay(joined(event))
        #expect(result.fileEvents.count == 1)
        #expect(result.fileEvents.first?.file.path == nil)
        #expect(result.fileEvents.first?.file.unresolvedReason != nil)
    }
}
