import Foundation
import Testing
import TestSupport

@Suite("audisp-lkm check, end to end")
struct CheckCommandTests {
    @Test("says whether the output can take alerts: no socket, a daemon listening, a daemon that died, a missing directory")
    func output() throws {
        try withTemporaryDirectory { directory in
            let socket = directory.appendingPathComponent("log.sock").path
            let configuration = directory.appendingPathComponent("audisp-lkm.conf").path
            func check(_ settings: String) throws -> (status: Int32, out: String, err: String) {
                try settings.write(toFile: configuration, atomically: false, encoding: .utf8)
                return try audispLKM(["check", "--config", configuration])
            }
            let syslog = "output = syslog\nsyslog_socket = \(socket)\n"

            var run = try check(syslog)
            #expect(run.status == 1)
            #expect(run.out.contains("FAIL  output: syslog authpriv.warning as audisp-lkm via \(socket): NOT REACHABLE (connect \(socket): No such file or directory)"), "\(run.out)")
            #expect(run.out.contains("      fix: start the syslog daemon"), "\(run.out)")

            let daemon = DatagramReceiver()
            try daemon.bind(socket)
            run = try check(syslog)
            #expect(run.out.contains("PASS  output: syslog authpriv.warning as audisp-lkm via \(socket): takes alerts"), "\(run.out)")

            // The socket file outlives its daemon; only connecting tells.
            daemon.close()
            run = try check(syslog)
            #expect(run.status == 1)
            #expect(run.out.contains("NOT REACHABLE (connect \(socket): Connection refused)"), "\(run.out)")

            let missing = directory.appendingPathComponent("missing").path
            run = try check("output = file\nfile = \(missing)/alerts.log\n")
            #expect(run.status == 1)
            #expect(run.out.contains("FAIL  output: file \(missing)/alerts.log: NOT WRITABLE (\(missing): No such file or directory)"), "\(run.out)")

            run = try check("output = stdout\n")
            #expect(run.out.contains("PASS  output: standard output: takes alerts"))

            run = try check("output = pigeon\n")
            #expect(run.status == 2)
            #expect(run.err.contains("audisp-lkm.conf:1: output"), "\(run.err)")
        }
    }
}
