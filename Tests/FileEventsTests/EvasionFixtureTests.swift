import AuditReading
import FileEvents
import RuleEngine
import Foundation
import Testing
import TestSupport

/// What each step of `record-fixtures.sh --evasion` did, written from the operation:
/// the file events a faithful normaliser reports, in the order of the steps (event
/// serials). A nil `path` with a `directory` is a file whose name io_uring did not log.
struct ExpectedEvasionEvent: CustomStringConvertible {
    var action: FileEvent.Action
    var path: String?
    var directory: String?
    var original: String?
    /// The path had the kernel ordered the rename's two same-text PARENT items the other way.
    var alternative: String?
    /// The path as the process spelt it, when that was another name for a place.
    var spelled: String?
    var executable = EvasionFixture.ops
    var source = ExecutableSource.execRecord
    var uringOperation: UInt64?

    var description: String { "\(action) \(path ?? "\(directory ?? "?")/(name not logged)") <- \(original ?? "-")" }
}

enum EvasionFixture {
    static let ops = "/var/tmp/lkmfix/lkmops"
    static let uring = "/var/tmp/lkmfix/uringops"
    static let modprobe = "/etc/modprobe.d"
    static let work = "/var/tmp/lkmfix"

    /// The steps of the script, with `late` the directory it created after loading the
    /// watches (/run/modules-load.d unless the machine had one).
    static func expected(late: String = "/run/modules-load.d") -> [ExpectedEvasionEvent] {
        let m = modprobe
        func uringOps(_ suffix: String, logged: Bool) -> [ExpectedEvasionEvent] {
            [
                ExpectedEvasionEvent(action: .creation, path: logged ? "\(m)/lkmfix-uring-openat\(suffix).conf" : nil,
                                     directory: logged ? nil : m, executable: uring, uringOperation: 18),
                ExpectedEvasionEvent(action: .rename, path: logged ? "\(m)/lkmfix-uring-renamed\(suffix).conf" : nil,
                                     directory: logged ? nil : m, original: logged ? "\(work)/u\(suffix).conf" : nil,
                                     executable: uring, uringOperation: 35),
                ExpectedEvasionEvent(action: .creation, path: logged ? "\(m)/lkmfix-uring-link\(suffix).conf" : nil,
                                     directory: logged ? nil : m, executable: uring, uringOperation: 39),
                ExpectedEvasionEvent(action: .creation, path: logged ? "\(m)/lkmfix-uring-symlink\(suffix).conf" : nil,
                                     directory: logged ? nil : m, executable: uring, uringOperation: 38),
            ]
        }
        return [
            ExpectedEvasionEvent(action: .creation, path: "\(m)/lkmfix-root-dirfd.conf"),              // 1 dirfd, cwd /
            ExpectedEvasionEvent(action: .creation, path: "\(m)/lkmfix-cwd-dirfd.conf"),               // 2 dirfd, cwd /var/tmp
            // Two dirfds, cwd /: both PARENT items read "/", and the stream has shown no rename
            // yet that says which comes first, so the other reading is kept.
            ExpectedEvasionEvent(action: .rename, path: "\(m)/lkmfix-root-renamed.conf",
                                 original: "\(work)/a.conf", alternative: "\(work)/lkmfix-root-renamed.conf"), // 3
            ExpectedEvasionEvent(action: .creation, path: "\(late)/lkmfix-late.conf"),                 // 4 a directory made later
        ] + uringOps("", logged: false)                                                                  // 5 io_uring
          + uringOps("-async", logged: false)                                                            // 6 IOSQE_ASYNC
          + uringOps("-sqpoll", logged: true)                                                            // 7 SQPOLL: names logged
          + [
            ExpectedEvasionEvent(action: .creation, directory: m, executable: uring, source: .ringSetup,
                                 uringOperation: 18),                                                    // 8 no exec record
            ExpectedEvasionEvent(action: .creation, directory: late, executable: uring, uringOperation: 18), // 9 late dir
            ExpectedEvasionEvent(action: .creation, path: "\(work)/d2/lkmfix-followed.conf"),          // 10 dir renamed
            ExpectedEvasionEvent(action: .rename, path: "\(m)/lkmfix-order.conf", original: "\(work)/o.conf"), // 11
            ExpectedEvasionEvent(action: .creation, path: "\(m)/lkmfix-xchg.conf"),                    // 12 the file,
            // then RENAME_EXCHANGE through two dirfds from /: the order is known by now (step
            // 11), so each file's new place is certain, the payload's in /etc/modprobe.d.
            ExpectedEvasionEvent(action: .rename, path: "\(work)/xchg-evil.conf", original: "\(m)/lkmfix-xchg.conf"),
            ExpectedEvasionEvent(action: .rename, path: "\(m)/lkmfix-xchg.conf", original: "\(work)/xchg-evil.conf"),
            // The place under another name: a bind mount, and a bind mount in another mount
            // namespace. The directory's identity gives the canonical path.
            ExpectedEvasionEvent(action: .creation, path: "\(m)/lkmfix-bind.conf", spelled: "\(work)/m/lkmfix-bind.conf"), // 13
            ExpectedEvasionEvent(action: .creation, path: "\(m)/lkmfix-ns.conf", spelled: "/mnt/lkmfix-ns.conf"),
            // 16: the late place replaced by a symbolic link; the link is also a creation (of
            // a name the rule does not match).
            ExpectedEvasionEvent(action: .creation, path: late, executable: "/usr/bin/ln"),
          ]
    }

    /// What replaced the late place (steps 14 to 16): a mount, a directory renamed in while
    /// it was missing, one renamed over it (empty), a link.
    static func replacements(late: String = "/run/modules-load.d") -> [(by: String, executable: String)] {
        [("\(work)/msrc", "/usr/bin/mount"), ("\(late).new", "/usr/bin/mv"), ("\(late).new3", "/usr/bin/mv"), (work, "/usr/bin/ln")]
    }

    /// Compares file events (in serial order) with `expected`, field by field; directory
    /// replacements are compared with `replacements`.
    static func check(_ events: [FileEvent], against expected: [ExpectedEvasionEvent], late: String = "/run/modules-load.d") {
        let replaced = events.filter { $0.action == .directoryReplacement }.sorted { $0.serial < $1.serial }
        #expect(replaced.map { $0.file.path?.text } == [late, late, late, late])
        #expect(replaced.map { $0.original?.path?.text ?? "?" } == replacements(late: late).map(\.by))
        #expect(replaced.map { $0.process.executable?.text ?? "?" } == replacements(late: late).map(\.executable))
        // In the order of the steps; an exchange's two events keep their order.
        let actual = events.filter { $0.action != .directoryReplacement }.enumerated().sorted { ($0.element.serial, $0.offset) < ($1.element.serial, $1.offset) }
            .map(\.element)
        #expect(actual.count == expected.count, "file events: \(actual.map { $0.file.path?.text ?? "?" })")
        for (event, want) in zip(actual, expected) {
            #expect(event.action == want.action, "\(want)")
            #expect(event.file.path?.text == want.path, "\(want)")
            #expect(event.file.directory?.text == want.directory, "\(want)")
            if want.path == nil {
                #expect(event.file.unresolvedReason?.contains("io_uring") == true, "\(want)")
            }
            #expect(event.original?.path?.text == want.original, "\(want)")
            #expect(event.file.alternativePath?.text == want.alternative, "\(want)")
            #expect(event.file.spelledPath?.text == want.spelled, "\(want)")
            #expect(event.process.executable?.text == want.executable, "\(want)")
            #expect(event.process.executableSource == want.source, "\(want)")
            #expect(event.audit.uringOperation == want.uringOperation, "\(want)")
            #expect((event.audit.architecture == nil) == (want.uringOperation != nil), "\(want)")
        }
    }
}

@Suite("Ways around the watches, recorded on the real kernel (record-fixtures.sh --evasion)")
struct EvasionFixtureTests {
    let log = TestData.kernelFixture("evasion.log")

    @Test("descriptors from /, directories made later, io_uring (plain, async, SQPOLL), directories moved")
    func everyRoute() throws {
        let result = try replay(files: [log.path])
        EvasionFixture.check(result.fileEvents, against: EvasionFixture.expected())
        #expect(result.statistics.malformedLines == 0)
        #expect(result.normalizer.uringEvents == 14)
        #expect(result.normalizer.uringEventsWithoutProcess == 0)
        // Without the selector, libauparse parses everything and the file events are the same.
        let unselected = try replay(files: [log.path], selecting: false)
        EvasionFixture.check(unselected.fileEvents, against: EvasionFixture.expected())
    }

    @Test("a descriptor's directory named only later in the stream resolves then; never named, it stays unresolved")
    func waitingForTheDirectory() throws {
        let lines = try recordLines(log)
        // Step 1 alone: nothing names /etc/modprobe.d's inode.
        let step1 = try #require(lines.first { $0.text.contains("name=\"lkmfix-root-dirfd.conf\"") })
        let alone = try replay(joined(lines.filter { auditEventID($0) == auditEventID(step1) }))
        let event = try #require(alone.fileEvents.first)
        #expect(event.file.path == nil)
        #expect(event.file.name?.text == "lkmfix-root-dirfd.conf")
        #expect(event.file.unresolvedReason?.contains("not seen before") == true)
        // The whole log names it later (step 7's absolute names): resolved, counted.
        let whole = try replay(files: [log.path])
        #expect(whole.normalizer.resolvedLater > 0)
        #expect(whole.fileEvents.contains { $0.file.path?.text == "/etc/modprobe.d/lkmfix-root-dirfd.conf" })
    }

    @Test("directories are learned per host: another host's identical inode does not resolve a name")
    func perHost() throws {
        let lines = try recordLines(log)
        let step1 = try #require(lines.first { $0.text.contains("name=\"lkmfix-root-dirfd.conf\"") })
        // Host a has the whole stream (it names /etc/modprobe.d); host b only step 1.
        let hostA = lines.map { Array("node=a ".utf8) + $0 }
        let hostB = lines.filter { auditEventID($0) == auditEventID(step1) }.map { Array("node=b ".utf8) + $0 }
        let result = try replay(joined(hostA + hostB))
        let fromB = result.fileEvents.filter { $0.node == "b" }
        #expect(fromB.count == 1)
        #expect(fromB.first?.file.path == nil)
        EvasionFixture.check(result.fileEvents.filter { $0.node == "a" }, against: EvasionFixture.expected())
    }

    @Test("io_uring without exec or ring records: the program is unknown, and says so")
    func unknownProgram() throws {
        let lines = try recordLines(log)
        // Drop every execve (59) and io_uring_setup (425) event.
        let dropped = Set(lines.filter { $0.text.hasPrefix("type=SYSCALL") && ($0.text.contains(" syscall=59 ") || $0.text.contains(" syscall=425 ")) }
            .map(auditEventID))
        let result = try replay(joined(lines.filter { !dropped.contains(auditEventID($0)) }))
        let uring = result.fileEvents.filter { $0.audit.uringOperation != nil }
        #expect(uring.count == 14)
        #expect(uring.allSatisfy { $0.process.executable == nil && $0.process.executableSource == .none })
        #expect(uring.allSatisfy { $0.process.executableUnknown })
        #expect(result.normalizer.uringEventsWithoutProcess == 14)
        // A user process made them, which one is unknown: never passed as "no executable".
        var engine = RuleEngine(rule: DetectionRule.defaultRule())
        let inPlaces = uring.filter { $0.file.path?.text.hasPrefix("/tmp") != true }
        #expect(inPlaces.allSatisfy { engine.evaluate($0) == .undecided })
    }

    @Test("the watch removals (-W and -D, both lists) are decoded with their keys and lists")
    func watchRemovals() throws {
        var changes: [AuditRuleChange] = []
        let reader = AuditLogReader(endOfEventTimeout: 2, selector: { FileEventNormalizer.interest($0).disposition(changes: false) }) { event in
            changes += AuditRuleChange.all(in: event)
        }
        try reader.read(try LogInput(path: log.path))
        reader.finish()
        let removals = changes.filter(\.removesRule)
        // Step 18 removes one watch; step 19 the remaining system-call rules and the three io_uring watches.
        #expect(removals.count == 12)
        #expect(removals.filter { $0.list == 7 }.count == 3)
        #expect(removals.allSatisfy { $0.keys == [Array("lkmfix".utf8)] && $0.auditName == "unset" })
        #expect(changes.filter { $0.operation == "add_rule" }.count == removals.count)
        // Step 17: auditctl -e 0 (its way back on is not logged: auditing was off).
        #expect(changes.filter(\.disablesAuditing).count == 1)
    }
}
