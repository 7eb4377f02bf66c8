@testable import FileEvents
@testable import HostFiles
import Testing
import TestSupport

@Suite("Path text rules")
struct PathTests {
    @Test("normalisation removes '.', '..', repeated and trailing '/'", arguments: [
        ("/etc/modprobe.d/../modprobe.d//x.conf", "/etc/modprobe.d/x.conf"),
        ("//etc//modprobe.d/./x.conf", "/etc/modprobe.d/x.conf"),
        ("/../../etc/modules", "/etc/modules"),
        ("/etc/modprobe.d/", "/etc/modprobe.d"),
        ("/", "/"),
        ("/a/b/../../..", "/"),
        // Already normal, returned as they are; and the near misses the check must catch.
        ("/etc/modprobe.d/x.conf", "/etc/modprobe.d/x.conf"),
        ("/.x/..y/...", "/.x/..y/..."),
        ("/a/.", "/a"),
        ("/a/..", "/"),
        ("/a/./b", "/a/b"),
        ("//", "/"),
        ("relative/x", "/relative/x"),
    ])
    func normalize(input: String, expected: String) {
        #expect(RawPath(input).normalized.text == expected)
        #expect(RawPath(input).isNormal == (input == expected))
    }

    @Test("merged /usr: an aliased directory is rewritten, a final component is not", arguments: [
        ("/lib/modprobe.d/x.conf", "/usr/lib/modprobe.d/x.conf"),
        ("/lib64/x", "/usr/lib64/x"),
        ("/sbin/x", "/usr/sbin/x"),
        ("/lib", "/lib"),
        ("/library/x", "/library/x"),
        ("/usr/lib/modprobe.d/x.conf", "/usr/lib/modprobe.d/x.conf"),
        ("/etc/lib/x", "/etc/lib/x"),
    ])
    func usrMerge(input: String, expected: String) {
        #expect(UsrMerge(isMerged: true).canonical(RawPath(input)).text == expected)
        #expect(UsrMerge(isMerged: false).canonical(RawPath(input)).text == input)
    }

    @Test("file.extension: the last '.' segment, none for dot files and trailing dots", arguments: [
        ("x.conf.dpkg-new", "dpkg-new"),
        (".a.conf.swp", "swp"),
        ("a.tar.gz", "gz"),
        ("modules", nil),
        (".bashrc", nil),
        ("name.", nil),
        ("4913", nil),
    ] as [(String, String?)])
    func fileExtension(name: String, expected: String?) {
        #expect(EventFile.fileExtension(of: Array(name.utf8))?.text == expected)
    }

    @Test("directory, last component, the PARENT item's text, and what lies below", arguments: [
        // (path, directory, last component, logged parent)
        ("/etc/modprobe.d/x.conf", "/etc/modprobe.d", "x.conf", "/etc/modprobe.d/" as String?),
        ("/etc", "/", "etc", "/"),
        ("/", "/", "", "/"),
        ("x.conf", "", "x.conf", nil),
        ("sub/x.conf", "sub", "x.conf", "sub/"),
        ("/etc/modprobe.d/", "/etc/modprobe.d", "", "/etc/modprobe.d/"),
    ])
    func components(path: String, directory: String, last: String, parent: String?) {
        let path = RawPath(path)
        #expect(path.directory.text == directory)
        #expect(path.lastComponent.text == last)
        #expect(path.loggedParent?.text == parent)
    }

    @Test("isAbove: strictly below, at a component boundary", arguments: [
        ("/etc", "/etc/modprobe.d", true),
        ("/etc", "/etc/modprobe.d/x.conf", true),
        ("/etc", "/etc", false),
        ("/etc", "/etcetera/x", false),
        ("/etc/modprobe.d", "/etc", false),
        // `/` is above nothing textually: nothing starts with `//`. Callers test it apart.
        ("/", "/etc", false),
    ])
    func above(directory: String, path: String, expected: Bool) {
        #expect(RawPath(directory).isAbove(RawPath(path)) == expected)
    }

    @Test("untrusted-string values: quoted, hex, (null)", arguments: [
        ("\"/etc/modules\"", "/etc/modules" as String?),
        ("2F6574632F6D6F64756C6573", "/etc/modules"),
        ("2f6574632f6d6f64756c6573", "/etc/modules"),
        ("(null)", nil),
        ("2F6", nil),
        ("XYZW", nil),
    ])
    func auditValues(encoded: String, decoded: String?) {
        let bytes = Array(encoded.utf8)
        let value = bytes.withUnsafeBytes { AuditValue.decode($0) }
        #expect(value?.text == decoded)
    }

    @Test("system call tables: the same operation by number on each architecture", arguments: [
        (Architecture.x86_64, UInt64(257), FileSyscall.openat),
        (.x86_64, 316, .renameat2),
        (.i386, 295, .openat),
        (.i386, 38, .rename),
        (.i386, 5, .open),
        (.aarch64, 56, .openat),
        (.aarch64, 276, .renameat2),
        (.aarch64, 37, .linkat),
        (.x86_64, 83, .mkdir),
        (.i386, 296, .mkdirat),
        (.aarch64, 35, .unlinkat),
        (.x86_64, 425, .ioUringSetup),
        (.i386, 425, .ioUringSetup),
        // The report's changes to existing names.
        (.x86_64, 87, .unlink),
        (.x86_64, 76, .truncate),
        (.x86_64, 268, .fchmodat),
        (.x86_64, 260, .fchownat),
        (.x86_64, 280, .utimensat),
        (.i386, 10, .unlink),
        (.i386, 212, .chown),
        (.i386, 193, .truncate),
        (.aarch64, 53, .fchmodat),
        (.aarch64, 54, .fchownat),
    ])
    func syscallTables(architecture: Architecture, number: UInt64, expected: FileSyscall) {
        #expect(FileSyscall.lookup(number, architecture: architecture) == expected)
    }

    @Test("numbers of other calls are not file operations (x86_64 read is 0, aarch64 has no open)")
    func unrelatedSyscalls() {
        #expect(FileSyscall.lookup(0, architecture: .x86_64) == nil)
        #expect(FileSyscall.lookup(2, architecture: .aarch64) == nil)
        #expect(FileSyscall.lookup(1, architecture: .x86_64) == nil) // write: through a descriptor, names nothing
        #expect(FileSyscall.lookup(91, architecture: .x86_64) == nil) // fchmod: likewise
        #expect(FileSyscall.lookup(426, architecture: .x86_64) == nil) // io_uring_enter
    }
}
