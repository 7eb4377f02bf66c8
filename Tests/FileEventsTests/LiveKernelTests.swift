import FileEvents
import Foundation
import Testing
import TestSupport

/// Re-records the fixture on this machine's kernel and checks the same expectations, so
/// the committed fixture is proven re-recordable and the normaliser is checked against
/// the running kernel's record layout. Needs root and a running auditd; skipped elsewhere,
/// mandatory under `.ci/run` (AUDISP_LKM_REQUIRE_ALL=1).
@Suite("Live kernel", .serialized)
struct LiveKernelTests {
    static var available: Bool {
        guard getuid() == 0, let status = try? run("/sbin/auditctl", ["-s"]) else { return false }
        return status.split(separator: "\n").contains { $0.hasPrefix("pid ") && $0 != "pid 0" }
    }

    @Test("recording every route on this kernel yields the expected file events",
          .enabled(if: available || TestData.mandatory))
    func recordAndReplay() throws {
        try #require(Self.available, "needs root and a running auditd (AUDISP_LKM_REQUIRE_ALL=1 makes this mandatory)")
        let result = try withTemporaryDirectory { directory in
            let output = directory.appendingPathComponent("live.log")
            try Self.run("/bin/bash", [TestData.recordScript.path, output.path])
            return try replay(files: [output.path])
        }
        KernelFixture.check(result.fileEvents)
        // The script's cleanup removed everything it planted.
        #expect(!FileManager.default.fileExists(atPath: "/etc/modules"))
        #expect(try Self.run("/sbin/auditctl", ["-l"]).contains("lkmfix") == false)
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw CommandFailure(command: ([executable] + arguments).joined(separator: " "), output: text)
        }
        return text
    }

    struct CommandFailure: Error, CustomStringConvertible {
        var command: String
        var output: String
        var description: String { "\(command) failed:\n\(output)" }
    }
}
