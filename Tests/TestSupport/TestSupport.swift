import AuditReading
import FileEvents
import Foundation

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
    var result = ReplayResult()
    var normalizer = FileEventNormalizer(usrMerge: UsrMerge(isMerged: usrMerge))
    var selector: ((EventSummary) -> EventDisposition)?
    if selecting { selector = { FileEventNormalizer.disposition($0) } }
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
    result.statistics = reader.statistics
    result.normalizer = normalizer.statistics
    return result
}

/// The record lines of a fixture, each without its newline.
public func recordLines(_ url: URL) throws -> [[UInt8]] {
    try [UInt8](Data(contentsOf: url)).split(separator: UInt8(ascii: "\n")).map(Array.init)
}

/// Lines joined back into a log.
public func joined(_ lines: [[UInt8]]) -> [UInt8] {
    lines.flatMap { $0 + [UInt8(ascii: "\n")] }
}

extension Array where Element == UInt8 {
    /// The bytes as text (for assertions on ASCII values).
    public var text: String { String(decoding: self, as: UTF8.self) }
}
