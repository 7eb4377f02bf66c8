@testable import FileEvents
import Foundation
import HostFiles
@testable import RuleEngine
import Testing
import TestSupport

/// A file event with just the fields a test sets.
func fileEvent(action: FileEvent.Action = .creation, path: String? = "/etc/modprobe.d/x.conf",
               original: String? = nil, executable: String? = "/usr/bin/cp") -> FileEvent {
    func file(_ path: String?) -> EventFile {
        EventFile(path: path.map { RawPath($0) }, name: path.map { RawPath($0).lastComponent })
    }
    return FileEvent(
        action: action, file: file(path), original: original.map(file),
        process: ProcessIdentity(executable: executable.map { RawPath($0) }, executableSource: .syscallExe,
                                 pid: 1, parentPID: 0, workingDirectory: nil, args: []),
        user: User(), audit: AuditFacts(syscall: .openat, syscallNumber: 257, architecture: .x86_64),
        seconds: 1_795_760_893, milliseconds: 159, serial: 150, node: nil)
}

func condition(_ text: String) throws -> Condition { try EQLParser.parse("file where \(text)") }

@Suite("EQL semantics (Elasticsearch's), one case per reason")
struct SemanticsTests {
    @Test("operators and wildcards", arguments: [
        // (condition, path, expected, reason)
        ("file.path == \"/etc/modprobe.d/x.conf\"", "/etc/modprobe.d/x.conf", true, "== is exact"),
        ("file.path == \"/ETC/modprobe.d/x.conf\"", "/etc/modprobe.d/x.conf", false, "== is case-sensitive"),
        ("file.path == \"/etc/modprobe.d/*\"", "/etc/modprobe.d/x.conf", false, "== never expands wildcards"),
        ("file.path in (\"/etc/modprobe.d/*\", \"/etc/x\")", "/etc/modprobe.d/x.conf", false, "in never expands wildcards"),
        ("file.path in (\"/a\", \"/etc/modprobe.d/x.conf\")", "/etc/modprobe.d/x.conf", true, "in is any of the list"),
        ("file.path in (\"/ETC/MODPROBE.D/X.CONF\")", "/etc/modprobe.d/x.conf", false, "in is case-sensitive"),
        ("file.path like \"/etc/modprobe.d/*\"", "/etc/modprobe.d/x.conf", true, "like star"),
        ("file.path like \"/ETC/modprobe.d/*\"", "/etc/modprobe.d/x.conf", false, "like is case-sensitive"),
        ("file.path like~ \"/ETC/MODPROBE.D/*\"", "/etc/modprobe.d/x.conf", true, "like~ is case-insensitive"),
        ("file.path : \"/ETC/MODPROBE.D/*\"", "/etc/modprobe.d/x.conf", true, "colon is like~"),
        ("file.path : \"/ETC/MODPROBE.D/X.CONF\"", "/etc/modprobe.d/x.conf", true, "colon without wildcard is a case-insensitive term"),
        ("file.path like \"/etc/modprobe.d/*\"", "/etc/modprobe.d/a/b/c.conf", true, "star crosses slashes"),
        ("file.path like \"/etc/modprobe.d/*\"", "/etc/modprobe.d/", true, "star matches nothing"),
        ("file.path like \"/etc/modules\"", "/etc/modules.bak", false, "like is anchored at the end"),
        ("file.path like \"/etc/modules\"", "/x/etc/modules", false, "like is anchored at the start"),
        ("file.path like \"/etc/modprobe.d/?.conf\"", "/etc/modprobe.d/x.conf", true, "question mark is one character"),
        ("file.path like \"/etc/modprobe.d/?.conf\"", "/etc/modprobe.d/xy.conf", false, "question mark is not two"),
        ("file.path like \"/etc/modprobe.d/?.conf\"", "/etc/modprobe.d/ü.conf", true, "question mark is one scalar, not one byte"),
        ("file.path like (\"/nope\", \"/etc/*\")", "/etc/modprobe.d/x.conf", true, "a pattern list is any of them"),
        ("file.path like \"*x*y*\"", "/axbxcyd", true, "several stars backtrack"),
        ("file.path like \"*a*a*a*a*b\"", "/" + String(repeating: "a", count: 4000), false, "many stars on a long name fail without blowing up"),
        ("file.path like \"*a*a*b\"", "/" + String(repeating: "a", count: 100) + "b", true, "many stars on a long name match"),
        ("file.path not in (\"/a\")", "/etc/modprobe.d/x.conf", true, "not in"),
        ("file.path != \"/etc/modprobe.d/x.conf\"", "/etc/modprobe.d/x.conf", false, "!= is not =="),
    ])
    func operators(text: String, path: String, expected: Bool, reason: String) throws {
        #expect(try condition(text).matches(fileEvent(path: path)) == expected, "\(reason)")
    }

    @Test("null semantics: a missing field fails every test, not is plain negation, != null is presence")
    func nulls() throws {
        let creation = fileEvent() // no file.Ext.original.*
        #expect(try !condition("file.Ext.original.extension == \"dpkg-new\"").matches(creation), "== on missing is false")
        #expect(try !condition("file.Ext.original.path like \"*\"").matches(creation), "like on missing is false")
        #expect(try !condition("file.Ext.original.path in (\"a\")").matches(creation), "in on missing is false")
        #expect(try condition("not (file.Ext.original.path in (\"a\"))").matches(creation), "not of a false test on missing is true")
        #expect(try condition("file.Ext.original.path == null").matches(creation), "== null is missing")
        #expect(try !condition("file.Ext.original.path != null").matches(creation), "!= null is presence")
        #expect(try condition("file.Ext.original.path != \"a\"").matches(creation), "!= is must_not term: true when missing")
        let noExecutable = fileEvent(executable: nil)
        #expect(try !condition("process.executable != null").matches(noExecutable))
        #expect(try condition("process.executable == null").matches(noExecutable))
        #expect(try !condition("process.name in (\"cp\")").matches(noExecutable), "process.name missing with executable")
    }

    @Test("file.extension of dot files and trailing dots is missing (no match on 'swp' for '.swp')")
    func extensions() throws {
        #expect(try condition("file.extension in (\"swp\")").matches(fileEvent(path: "/etc/modprobe.d/.a.conf.swp")))
        #expect(try !condition("file.extension in (\"swp\")").matches(fileEvent(path: "/etc/modprobe.d/.swp")))
    }

    @Test("queries outside the subset fail to load, naming the construct and its position", arguments: [
        ("sequence [file where true]", "sequence", 1, 1),
        ("process where process.name == \"x\"", "event category 'process'", 1, 1),
        ("file where startsWith(file.path, \"/etc\")", "function 'startsWith'", 1, 12),
        ("file where\n  file.size > 5", "unknown field 'file.size'", 2, 3),
        ("file where file.path regex \".*\"", "operator 'regex'", 1, 22),
        ("file where file.path == \"a\" | head 1", "pipes", 1, 29),
        ("file where file.path == \"a", "unterminated string", 1, 25),
        ("file where (file.path == \"a\"", "expected ')'", 1, 29),
    ])
    func unsupported(query: String, message: String, line: Int, column: Int) {
        do {
            _ = try EQLParser.parse(query)
            Issue.record("\(query) loaded")
        } catch {
            #expect(error.message.contains(message), "\(error)")
            #expect(error.position == SourcePosition(line: line, column: column), "\(error)")
        }
    }
}
