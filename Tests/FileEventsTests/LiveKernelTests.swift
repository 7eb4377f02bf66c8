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
    @Test("recording every route on this kernel yields the expected file events",
          .enabled(if: auditdIsRunning || TestData.mandatory))
    func recordAndReplay() throws {
        try #require(auditdIsRunning, "needs root and a running auditd (AUDISP_LKM_REQUIRE_ALL=1 makes this mandatory)")
        let modulesBefore = try? Data(contentsOf: URL(fileURLWithPath: "/etc/modules"))
        let result = try withSystemAuditLock {
            try withTemporaryDirectory { directory in
                let output = directory.appendingPathComponent("live.log")
                try runCommand("/bin/bash", [TestData.recordScript.path, output.path])
                return try replay(files: [output.path])
            }
        }
        KernelFixture.check(result.fileEvents)
        // The script's cleanup removed everything it planted, and put back an /etc/modules
        // it had set aside (kmod's postinst writes one).
        #expect((try? Data(contentsOf: URL(fileURLWithPath: "/etc/modules"))) == modulesBefore)
        #expect(try runCommand("/sbin/auditctl", ["-l"]).contains("lkmfix") == false)
    }

    @Test("recording the ways around the watches on this kernel yields the expected file events",
          .enabled(if: auditdIsRunning || TestData.mandatory))
    func recordEvasionAndReplay() throws {
        try #require(auditdIsRunning, "needs root and a running auditd (AUDISP_LKM_REQUIRE_ALL=1 makes this mandatory)")
        // The script creates the first of these the machine lacks, after loading its watches:
        // asked under the lock, since other suites make and remove /run/modules-load.d.
        let (late, result) = try withSystemAuditLock {
            let late = try #require(["/run/modules-load.d", "/run/modprobe.d", "/usr/local/lib/modules-load.d",
                                     "/usr/local/lib/modprobe.d"].first { !FileManager.default.fileExists(atPath: $0) })
            return (late, try withTemporaryDirectory { directory in
                let output = directory.appendingPathComponent("evasion.log")
                try runCommand("/bin/bash", [TestData.recordScript.path, "--evasion", output.path])
                return try replay(files: [output.path])
            })
        }
        EvasionFixture.check(result.fileEvents, against: EvasionFixture.expected(late: late), late: late)
        #expect(!FileManager.default.fileExists(atPath: late))
        #expect(try runCommand("/sbin/auditctl", ["-l"]).contains("lkmfix") == false)
    }
}
