import Foundation
import Glibc
import Testing
import TestSupport

/// The man pages as a person reads them: `man -l` renders them without a warning, and
/// every option of every command is an entry of its own.
@Suite("Man pages")
struct ManualPageTests {
    static var available: Bool { access("/usr/bin/man", X_OK) == 0 }

    @Test("audisp-lkm(8) and audisp-lkm.conf(5) render with man -l, an entry per option and setting",
          .enabled(if: available || TestData.mandatory))
    func rendered() throws {
        try #require(Self.available, "needs man-db")
        try withTemporaryDirectory { directory in
            for (section, file) in [(8, "audisp-lkm.8"), (5, "audisp-lkm.conf.5")] {
                let page = try audispLKM(["manual", String(section)])
                #expect(page.status == 0)
                let path = directory.appendingPathComponent(file).path
                try page.out.write(toFile: path, atomically: false, encoding: .utf8)
                // groff's warnings on standard error (man --warnings), none allowed.
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/man")
                process.arguments = ["--warnings", "-l", path]
                process.environment = ["MANWIDTH": "100", "LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"]
                let out = Pipe(), err = Pipe()
                process.standardOutput = out
                process.standardError = err
                try process.run()
                let rendered = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                let warnings = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                #expect(process.terminationStatus == 0 && warnings.isEmpty, "\(file): \(warnings)")
                if section == 8 {
                    for heading in ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "FILES", "SEE ALSO"] {
                        #expect(rendered.contains("\n\(heading)\n"), "\(heading)")
                    }
                    // An entry per option: the name at the margin of its own .TP paragraph.
                    for option in ["--no-modification-rule", "--explain", "--host-state", "--state-directory", "--config file"] {
                        #expect(page.out.contains(".TP\n\\fB\(option.split(separator: " ")[0])\\fR"), "no entry for \(option)")
                    }
                } else {
                    for key in ["state_directory", "reconcile_interval", "modification_alerts", "manage_watches"] {
                        #expect(page.out.contains(".TP\n.B \(key)\n"), "no entry for \(key)")
                    }
                }
            }
        }
    }
}
