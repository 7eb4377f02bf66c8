import AuditReading
import FileEvents
import Foundation
import RuleEngine

/// Where the tests' data lives, found from this source file's location.
public enum TestData {
    /// The package's root directory.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/Fixtures/kernel/NAME`: records recorded from the kernel by record-fixtures.sh.
    public static func kernelFixture(_ name: String) -> URL {
        packageRoot.appendingPathComponent("Tests/Fixtures/kernel").appendingPathComponent(name)
    }

    /// `Tests/Fixtures/record-fixtures.sh`.
    public static let recordScript = packageRoot.appendingPathComponent("Tests/Fixtures/record-fixtures.sh")

    /// The shared corpus of public audit logs (`../shared/corpus` beside the clone), or nil
    /// when absent (a user's clone). CI sets AUDISP_LKM_REQUIRE_SHARED=1 to make its absence fatal.
    public static let corpus: URL? = {
        let candidate = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus")
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate : nil
    }()

    /// `../shared/upstream-rules`: Elastic's TOML versions of the rule, or nil when absent.
    public static let upstreamRules: URL? = {
        let candidate = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/upstream-rules")
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate : nil
    }()

    /// Whether tests that need data or privileges must run rather than skip (`.ci/run` sets it).
    public static let mandatory = ProcessInfo.processInfo.environment["AUDISP_LKM_REQUIRE_ALL"] == "1"

    /// The built `audisp-lkm` executable, beside the test bundle.
    public static let executable: URL = {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("audisp-lkm").path),
              directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("audisp-lkm")
    }()
}

/// Replays bytes through the same reader and normaliser the command uses.
public struct ReplayResult {
    public var fileEvents: [FileEvent] = []
    public var statistics = ReadStatistics()
    public var normalizer = NormalizerStatistics()
    public var error: ReplayInputError?
}

/// Replays `data` as a log file. `selecting` applies the command's event selector (only
/// file and exec calls reach libauparse); without it libauparse parses every event.
public func replay(_ data: [UInt8], endOfEventTimeout: UInt64 = 2, usrMerge: Bool = true,
                   selecting: Bool = true) throws -> ReplayResult {
    try withTemporaryDirectory { directory in
        let url = directory.appendingPathComponent("audit.log")
        try Data(data).write(to: url)
        return try replay(files: [url.path], endOfEventTimeout: endOfEventTimeout, usrMerge: usrMerge, selecting: selecting)
    }
}

/// Runs `body` with a new empty directory, removed afterwards whatever happens.
public func withTemporaryDirectory<Result>(_ body: (URL) throws -> Result) throws -> Result {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("audisp-lkm-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// Feeds `log` to `reader` through a file, as the command reads, and finishes the reader.
public func read(_ log: String, with reader: AuditLogReader) throws {
    try withTemporaryDirectory { directory in
        let url = directory.appendingPathComponent("audit.log")
        try log.write(to: url, atomically: true, encoding: .utf8)
        try reader.read(try LogInput(path: url.path))
        reader.finish()
    }
}

public func replay(files: [String], endOfEventTimeout: UInt64 = 2, usrMerge: Bool = true,
                   selecting: Bool = true) throws -> ReplayResult {
    try replay(files: files, endOfEventTimeout: endOfEventTimeout, usrMerge: usrMerge,
               selector: selecting ? { FileEventNormalizer.interest($0).disposition(changes: false) } : nil)
}

/// Replays `files` with `selector` choosing the events libauparse parses (nil: all).
public func replay(files: [String], endOfEventTimeout: UInt64 = 2, usrMerge: Bool = true,
                   selector: ((EventSummary) -> EventDisposition)?) throws -> ReplayResult {
    var result = ReplayResult()
    var normalizer = FileEventNormalizer(usrMerge: UsrMerge(isMerged: usrMerge))
    // As the command does: the built-in rule's places keep their names (bind mounts).
    normalizer.paths.places = Set(DetectionRule.defaultRule().placeDirectories(usrMerge: UsrMerge(isMerged: usrMerge)))
    let reader = AuditLogReader(endOfEventTimeout: endOfEventTimeout, selector: selector) { event in
        normalizer.normalize(event) { result.fileEvents.append($0) }
    }
    for file in files {
        do {
            try reader.read(try LogInput(path: file))
        } catch let error as ReplayInputError {
            result.error = error
            break
        }
    }
    reader.finish()
    normalizer.finish { result.fileEvents.append($0) }
    result.statistics = reader.statistics
    result.normalizer = normalizer.statistics
    return result
}

/// The record lines of a fixture, each without its newline.
public func recordLines(_ url: URL) throws -> [[UInt8]] {
    try [UInt8](Data(contentsOf: url)).split(separator: UInt8(ascii: "\n")).map(Array.init)
}

/// The `SECONDS.MILLI:SERIAL` of a record line (what groups records into events).
public func auditEventID(_ line: [UInt8]) -> Substring {
    let text = line.text
    guard let start = text.range(of: "msg=audit("), let end = text[start.upperBound...].firstIndex(of: ")") else { return "" }
    return text[start.upperBound..<end]
}

/// Records of `count` creations derived from the kernel fixture's first one (step 1:
/// openat O_CREAT of /etc/modprobe.d/lkmfix-openat.conf by lkmops, RAW format): each
/// copy made by `executable` in `directory` under `name(i)`, with serials from `serial`
/// and times from `seconds` (one millisecond apart). For floods and caps.
public func creationRecords(count: Int, executable: String, directory: String = "/etc/modprobe.d",
                            name: (Int) -> String, serial: Int, seconds: Int) throws -> [UInt8] {
    let lines = try recordLines(TestData.kernelFixture("x86_64-i386.log")).map { Array($0.prefix { $0 != 0x1D }) }
    guard let first = lines.first(where: { $0.text.contains("lkmfix-openat.conf") && $0.text.contains("nametype=CREATE") })
    else { throw POSIXError(.ENOENT) }
    let id = auditEventID(first)
    let event = lines.filter { auditEventID($0) == id }.map(\.text).joined(separator: "\n")
    var output = ""
    for index in 0 ..< count {
        let milliseconds = index % 1000
        let stamp = "\(seconds + index / 1000).\(String(repeating: "0", count: milliseconds < 10 ? 2 : milliseconds < 100 ? 1 : 0))\(milliseconds):\(serial + index)"
        output += event.replacingOccurrences(of: "msg=audit(\(id))", with: "msg=audit(\(stamp))")
            .replacingOccurrences(of: "exe=\"/var/tmp/lkmfix/lkmops\"", with: "exe=\"\(executable)\"")
            .replacingOccurrences(of: "\"/etc/modprobe.d/lkmfix-openat.conf\"", with: "\"\(directory)/\(name(index))\"")
            .replacingOccurrences(of: "\"/etc/modprobe.d/\"", with: "\"\(directory)/\"") + "\n"
    }
    return Array(output.utf8)
}

/// Lines joined back into a log.
public func joined(_ lines: [[UInt8]]) -> [UInt8] {
    lines.flatMap { $0 + [UInt8(ascii: "\n")] }
}

extension Array where Element == UInt8 {
    /// The bytes as text (for assertions on ASCII values).
    public var text: String { String(decoding: self, as: UTF8.self) }
}

/// Runs `body` holding a lock shared by every test that changes the kernel's audit rules,
/// auditd's configuration or this system's module configuration places, or reads those
/// places expecting them to stay still (they run in parallel suites otherwise):
/// `augenrules --load` in one would delete the rules another has just added.
public func withSystemAuditLock<Result>(_ body: () throws -> Result) throws -> Result {
    let fd = open("/run/lock/audisp-lkm-tests.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
    return try body()
}

/// Runs a program to completion; its output (standard output and error together), or an
/// error carrying that output when it exits with a non-zero status.
///
/// The child starts as a login shell's would: no blocked or ignored signals and no
/// descriptors but 0, 1 and 2. Foundation's Process passes on the spawning thread's
/// signal mask (a test worker blocks nearly everything) and its own descriptors, and a
/// daemon started from the child (install.sh restarts auditd) would keep both.
@discardableResult
public func runCommand(_ executable: String, _ arguments: [String]) throws -> String {
    var pipe: [CInt] = [0, 0]
    guard Glibc.pipe(&pipe) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    for end in pipe { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, pipe[1], 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t(), all = sigset_t()
    sigemptyset(&none)
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    // bash closes every other descriptor (glibc's closefrom action is not visible to Swift).
    let closeAndRun = "for fd in /proc/self/fd/*; do fd=${fd##*/}; [ $fd -gt 2 ] && eval \"exec $fd>&-\"; done 2>/dev/null; exec \"$@\""
    let argv = (["/bin/bash", "-c", closeAndRun, "bash", executable] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid = pid_t()
    let status = posix_spawn(&pid, "/bin/bash", &actions, &attributes, argv, environ)
    close(pipe[1])
    guard status == 0 else {
        close(pipe[0])
        throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EIO)
    }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(pipe[0], $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        output += buffer[..<count]
    }
    close(pipe[0])
    var exit: CInt = 0
    while waitpid(pid, &exit, 0) < 0 && errno == EINTR {}
    let text = String(decoding: output, as: UTF8.self)
    // WIFEXITED and WEXITSTATUS are macros: a normal exit has the low 7 bits clear.
    let exitStatus = exit & 0x7f == 0 ? (exit >> 8) & 0xff : 128 + (exit & 0x7f)
    guard exitStatus == 0 else {
        throw CommandFailure(command: ([executable] + arguments).joined(separator: " "), status: exitStatus, output: text)
    }
    return text
}

public struct CommandFailure: Error, CustomStringConvertible {
    public var command: String
    public var status: Int32
    public var output: String
    public var description: String { "\(command) failed (status \(status)):\n\(output)" }
}

/// Whether this process is root and the kernel sends to a running auditd. The kernel's
/// `pid` alone is no proof: an auditd killed without unregistering stays listed until the
/// kernel next fails to send it a record.
public var auditdIsRunning: Bool {
    guard getuid() == 0, let status = try? runCommand("/sbin/auditctl", ["-s"]),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("pid ") }),
          let pid = Int32(line.dropFirst(4)), pid > 0,
          let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)
    else { return false }
    return comm.trimmingCharacters(in: .whitespacesAndNewlines) == "auditd"
}

/// The value at a dotted path (`file.Ext.original.path`) of a JSON document.
public func jsonField(_ document: [String: Any], _ path: String) -> Any? {
    var value: Any? = document
    for key in path.split(separator: ".") { value = (value as? [String: Any])?[String(key)] }
    return value
}
