import Compliance
import Foundation
import HostFiles
import Testing
import TestSupport

/// modprobe.d(5) precedence on a tree made here, and a profile's verdicts on it.
@Suite("The module configuration in effect, and a profile's verdicts")
struct ModprobeConfigurationTests {
    /// Writes `files` (path under the root: content) and links (path: target).
    static func tree(_ root: URL, files: [String: String], links: [String: String] = [:]) throws {
        for (path, content) in files {
            let url = root.appendingPathComponent(String(path.dropFirst()))
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: url, atomically: false, encoding: .utf8)
        }
        for (path, target) in links {
            let url = root.appendingPathComponent(String(path.dropFirst()))
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
        }
    }

    /// The `install` lines kmod's own `modprobe -C DIRECTORY --showconfig` reads, in its
    /// order; nil where kmod is not installed (which `.ci/run` makes an issue).
    static func kmodInstallLines(in directory: URL) throws -> [String]? {
        guard let modprobe = ["/usr/sbin/modprobe", "/sbin/modprobe"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            if TestData.mandatory { Issue.record("kmod is not installed: .ci/run installs it") }
            return nil
        }
        return try runCommand(modprobe, ["-C", directory.path, "--showconfig"]).split(separator: "\n")
            .filter { $0.hasPrefix("install ") }.map(String.init)
    }

    /// Writes `content` to a file whose name is `bytes` (need not be UTF-8) in `directory`.
    static func writeFile(named bytes: [UInt8], in directory: URL, _ content: String) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = RawPath(directory.path + "/") + RawPath(bytes: bytes)
        let fd = path.withCString { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        let written = Array(content.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == content.utf8.count else { throw POSIXError(.EIO) }
    }

    @Test("a name that is not UTF-8 is read by its bytes, as kmod reads it: its install wins and the verdict fails")
    func nameNotUTF8() throws {
        try withTemporaryDirectory { root in
            let directory = root.appendingPathComponent("etc/modprobe.d")
            // `a\xff.conf` sorts before `usb_storage.conf` (byte order): kmod runs its install.
            try Self.writeFile(named: Array("a".utf8) + [0xFF] + Array(".conf".utf8), in: directory, "install usb-storage /tmp/payload\n")
            try Self.writeFile(named: Array("usb_storage.conf".utf8), in: directory, "install usb-storage /bin/false\nblacklist usb-storage\n")
            let configuration = ModprobeConfiguration.load(root: root.path)
            #expect(configuration.files.map(\.path) == ["/etc/modprobe.d/a\\xff.conf", "/etc/modprobe.d/usb_storage.conf"])
            #expect(configuration.install(for: "usb-storage")?.file == "/etc/modprobe.d/a\\xff.conf")
            #expect(configuration.install(for: "usb-storage")?.arguments == "/tmp/payload")
            let verdict = try ComplianceProfile.load("cis-debian-12").evaluate(configuration).first { $0.control.module == "usb-storage" }
            #expect(verdict?.passed == false)
            #expect(verdict?.findings.contains { $0.contains("/tmp/payload") } == true, "\(String(describing: verdict?.findings))")
            #expect(verdict?.fix == "change the directive at /etc/modprobe.d/a\\xff.conf:1 to: install usb-storage /bin/false")
            // kmod itself, given the same directory, reads both files in the same order.
            if let shown = try Self.kmodInstallLines(in: directory) {
                #expect(shown == ["install usb_storage /tmp/payload", "install usb_storage /bin/false"])
            }
        }
    }

    @Test("a file kmod reads that cannot be read here whole (a FIFO, one over 64 MiB) says why, and no verdict passes")
    func unreadableFiles() throws {
        try withTemporaryDirectory { root in
            let directory = root.appendingPathComponent("etc/modprobe.d")
            try Self.writeFile(named: Array("usb_storage.conf".utf8), in: directory, "install usb-storage /bin/false\nblacklist usb-storage\n")
            // Either could hold an earlier `install usb-storage` (kmod reads them whole).
            #expect(mkfifo(directory.appendingPathComponent("a-fifo.conf").path, 0o644) == 0)
            try Self.writeFile(named: Array("b-large.conf".utf8), in: directory, "install usb-storage /tmp/payload\n")
            #expect(truncate(directory.appendingPathComponent("b-large.conf").path, (64 << 20) + 1) == 0)
            let configuration = ModprobeConfiguration.load(root: root.path)
            func problem(_ name: String) -> String? { configuration.files.first { $0.path == "/etc/modprobe.d/" + name }?.readProblem }
            #expect(problem("a-fifo.conf") == "not a regular file")
            #expect(problem("b-large.conf") == "larger than 64 MiB")
            #expect(problem("usb_storage.conf") == nil)
            #expect(configuration.unreadableModprobeFiles.map(\.path) == ["/etc/modprobe.d/a-fifo.conf", "/etc/modprobe.d/b-large.conf"])
            let verdict = try ComplianceProfile.load("cis-debian-12").evaluate(configuration).first { $0.control.module == "usb-storage" }
            #expect(verdict?.passed == false)
            #expect(verdict?.findings.contains("cannot be decided: kmod reads /etc/modprobe.d/a-fifo.conf, which cannot be read here (not a regular file)") == true,
                    "\(String(describing: verdict?.findings))")
            // Without them the same directives pass.
            try FileManager.default.removeItem(at: directory.appendingPathComponent("a-fifo.conf"))
            try FileManager.default.removeItem(at: directory.appendingPathComponent("b-large.conf"))
            let passing = try ComplianceProfile.load("cis-debian-12").evaluate(ModprobeConfiguration.load(root: root.path))
            #expect(passing.first { $0.control.module == "usb-storage" }?.passed == true)
            // The limit is exact: a file of the limit's size is read, one byte more is not.
            let file = RawPath(directory.path + "/usb_storage.conf")
            let size = "install usb-storage /bin/false\nblacklist usb-storage\n".utf8.count
            #expect((try? SmallFile.contents(file, limit: size))?.count == size)
            #expect(throws: SmallFile.ReadProblem.largerThan(size - 1)) { try SmallFile.contents(file, limit: size - 1) }
        }
    }

    @Test("files together hold at most maximumTotalBytes: past it a file is flagged, not read, and no control passes")
    func totalBytes() throws {
        try withTemporaryDirectory { root in
            let directory = root.appendingPathComponent("etc/modprobe.d")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            // Two sparse files, each over half the total: the second no longer fits.
            let size = ModprobeConfiguration.maximumTotalBytes / 2 + 1
            for name in ["a.conf", "b.conf"] {
                let path = directory.appendingPathComponent(name).path
                #expect(FileManager.default.createFile(atPath: path, contents: nil))
                #expect(truncate(path, off_t(size)) == 0)
            }
            let configuration = ModprobeConfiguration.load(root: root.path)
            let flagged = configuration.files.filter { $0.readProblem?.contains("used up") == true }
            #expect(flagged.map(\.path) == ["/etc/modprobe.d/b.conf"])
            #expect(configuration.unreadableModprobeFiles.contains { $0.path == "/etc/modprobe.d/b.conf" })
        }
    }

    @Test("as kmod 30: install lines are patterns, read first wins; a dash in brackets stays; a compound command is no pass; a link to nothing is undecidable; a mask however spelt")
    func kmodPatternsAndLinks() throws {
        try withTemporaryDirectory { root in
            try Self.tree(root, files: [
                "/etc/modprobe.d/a-pattern.conf": "install usb* /tmp/payload\n",
                "/etc/modprobe.d/b-exact.conf": "install usb-storage /bin/false\nblacklist usb-storage\n",
                "/etc/modprobe.d/c-range.conf": "install cram[a-z]s /bin/false\ninstall bad]name /bin/false\n",
                "/etc/modprobe.d/d-compound.conf": "install dccp /bin/true && /tmp/payload\nblacklist dccp\n",
                "/usr/lib/modprobe.d/e-hidden.conf": "install sctp /bin/false\nblacklist sctp\n",
                "/usr/lib/modprobe.d/f-masked.conf": "blacklist masked_module\n",
                "/usr/lib/modprobe.d/50-rds.conf": "install rds /tmp/rds-payload\n",
            ], links: [
                "/etc/modprobe.d/e-hidden.conf": "/nonexistent/e-hidden.conf",
                // Relative, enough `..` to reach / from any temporary directory.
                "/etc/modprobe.d/f-masked.conf": String(repeating: "../", count: 40) + "dev/null",
                // Absolute: inside the root, as everything under --root is (a FIFO there).
                "/etc/modprobe.d/g-unreadable.conf": "/run/lkm-pipe",
            ])
            try FileManager.default.createDirectory(at: root.appendingPathComponent("run"), withIntermediateDirectories: true)
            #expect(mkfifo(root.appendingPathComponent("run/lkm-pipe").path, 0o600) == 0)
            let configuration = ModprobeConfiguration.load(root: root.path)
            let installs = configuration.directives.filter { $0.command == "install" }
            // In name order, whichever directory: 50-rds.conf first.
            #expect(installs.map(\.module) == ["rds", "usb*", "usb_storage", "cram[a-z]s", "dccp", "sctp"])
            #expect(installs.map(\.effective) == [true, true, false, true, true, true])
            #expect(configuration.install(for: "usb-storage")?.file == "/etc/modprobe.d/a-pattern.conf")
            #expect(configuration.install(for: "cramfs")?.file == "/etc/modprobe.d/c-range.conf")
            #expect(configuration.unknownLines.map(\.text) == ["install bad]name /bin/false"])
            func file(_ path: String) -> ModprobeConfiguration.File? { configuration.files.first { $0.path == path } }
            // kmod 30 judges what it cannot stat by the previous entry's stat: undecidable.
            #expect(file("/etc/modprobe.d/e-hidden.conf")?.readProblem == "a link to nothing: kmod 30 to 33 may let it hide the name or not")
            #expect(file("/usr/lib/modprobe.d/e-hidden.conf")?.isRead == true)
            #expect(file("/etc/modprobe.d/f-masked.conf")?.unreadReason == "a link to /dev/null: masks the name")
            // The same root spelt with trailing slashes.
            let slashed = ModprobeConfiguration.load(root: root.path + "//")
            #expect(slashed.files.first { $0.path == "/etc/modprobe.d/f-masked.conf" }?.unreadReason == "a link to /dev/null: masks the name")
            #expect(configuration.blacklist(of: "masked_module") == nil)
            // kmod reads nothing from it: here it is said, and decides nothing.
            #expect(file("/etc/modprobe.d/g-unreadable.conf")?.readProblem == "not a regular file")

            let verdicts = try ComplianceProfile.load("cis-debian-12").evaluate(configuration)
            func verdict(_ module: String) -> ComplianceProfile.Verdict? { verdicts.first { $0.control.module == module } }
            #expect(verdict("usb-storage")?.findings.contains { $0.hasPrefix("install runs /tmp/payload") && $0.contains("a-pattern.conf:1") } == true)
            // A pattern line covers other modules too: outvoted by a file read before it.
            #expect(verdict("usb-storage")?.fix == "add /etc/modprobe.d/00-usb-storage.conf (read before /etc/modprobe.d/a-pattern.conf, so its install wins): install usb-storage /bin/false")
            #expect(verdict("dccp")?.findings.contains { $0.hasPrefix("install runs /bin/true && /tmp/payload") } == true)
            #expect(verdict("rds")?.fix?.hasPrefix("add /etc/modprobe.d/00-rds.conf (read before /usr/lib/modprobe.d/50-rds.conf, so its install wins): install rds /bin/false") == true,
                    "\(String(describing: verdict("rds")?.fix))")
            #expect(verdicts.allSatisfy { !$0.passed && $0.findings.contains { $0.contains("g-unreadable.conf, which cannot be read here (not a regular file)") }
                && $0.findings.contains { $0.contains("e-hidden.conf, which cannot be read here (a link to nothing") } })

            // kmod itself, on the same /etc/modprobe.d: the same install lines, the bad one skipped.
            if let shown = try Self.kmodInstallLines(in: root.appendingPathComponent("etc/modprobe.d")) {
                #expect(shown == installs.filter { $0.file.hasPrefix("/etc/") }.map { "install \($0.module) \($0.arguments)" })
            }
        }
    }

    @Test("as kmod 30 reads bytes: an exact install counts beside a pattern; marks after a bracket or a space; backslashes; a place that is a file")
    func kmodBytes() throws {
        try withTemporaryDirectory { root in
            let directory = root.appendingPathComponent("etc/modprobe.d")
            func write(_ name: String, _ bytes: [UInt8]) throws {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                try Data(bytes).write(to: directory.appendingPathComponent(name))
            }
            let mark: [UInt8] = [0xCC, 0x81]   // U+0301, a combining mark
            // cramfs: a pattern read first, then its exact name (kmod's rule for a module not in modules.dep).
            try write("a.conf", Array("install cram* /bin/false\nblacklist cramfs\n".utf8))
            try write("b.conf", Array("install cramfs /tmp/evil\n".utf8))
            // udf: a bracket opened by `[` and a mark (one Character, two bytes); hfs: a separator and a mark.
            try write("c.conf", Array("install ud[".utf8) + mark + Array("f] /tmp/evil\ninstall hfs ".utf8) + mark + Array("; /tmp/evil\n".utf8))
            // squashfs: a comment ending in `\\` does not continue (the pair is one `\`), so the install is read.
            try write("d.conf", Array("# note \\\\\ninstall squashfs /tmp/evil\n".utf8))
            try write("e.conf", Array("install udf /bin/false\ninstall hfs /bin/false\ninstall squashfs /bin/false\n".utf8))
            // jffs2: a `\` at the end of the file leaves 0xFF in the command.
            try write("f.conf", Array("install jffs2 /bin/false\\".utf8))
            let configuration = ModprobeConfiguration.load(root: root.path)
            #expect(configuration.installs(for: "cramfs").map(\.file) == ["/etc/modprobe.d/a.conf", "/etc/modprobe.d/b.conf"])
            #expect(configuration.install(for: "udf")?.file == "/etc/modprobe.d/c.conf")
            #expect(configuration.install(for: "hfs")?.arguments == String(decoding: mark, as: UTF8.self) + "; /tmp/evil")
            #expect(configuration.install(for: "squashfs")?.file == "/etc/modprobe.d/d.conf")
            #expect(configuration.install(for: "jffs2")?.arguments == "/bin/false\\xff")
            let verdicts = try ComplianceProfile.load("cis-debian-12").evaluate(configuration)
            for module in ["cramfs", "udf", "hfs", "squashfs", "jffs2"] {
                #expect(verdicts.first { $0.control.module == module }?.passed == false, "\(module)")
            }
            // kmod itself on the same directory (f.conf's 0xFF aside): the same install lines, in order.
            try FileManager.default.removeItem(at: directory.appendingPathComponent("f.conf"))
            if let shown = try Self.kmodInstallLines(in: directory) {
                let ours = ModprobeConfiguration.load(root: root.path).directives.filter { $0.command == "install" }
                #expect(shown == ours.map { "install \($0.module) \($0.arguments)" })
            }

            // A place that is a file: kmod reads it as one more file; nothing decided here.
            try FileManager.default.removeItem(at: directory)
            try Data("install cramfs /tmp/evil\n".utf8).write(to: directory)
            let file = ModprobeConfiguration.load(root: root.path)
            #expect(file.unreadableModprobeFiles.map(\.path) == ["/etc/modprobe.d"])
            #expect(file.unreadableModprobeFiles.first?.readProblem == "not a directory: kmod reads it as a file")
        }
    }

    @Test("/etc hides /usr/lib by name, a link to /dev/null masks, only *.conf is read, in name order; the first install wins")
    func precedence() throws {
        try withTemporaryDirectory { root in
            try Self.tree(root, files: [
                "/etc/modprobe.d/b-same.conf": "install cramfs /bin/false\n",
                "/usr/lib/modprobe.d/b-same.conf": "install cramfs /bin/sh -c 'echo hidden'\nblacklist hidden-module\n",
                "/usr/lib/modprobe.d/a-first.conf": "# comment\ninstall cramfs /usr/bin/true\nblacklist cram-fs\n",
                "/usr/lib/modprobe.d/c-masked.conf": "blacklist masked_module\n",
                "/etc/modprobe.d/notes.txt": "blacklist never_read\n",
                "/run/modprobe.d/d-run.conf": "options usb_storage delay_use=3 \\\n  quirks=0\nsoftdep a pre: b\n",
                "/etc/modprobe.d/e-odd.conf": "frobnicate x\n",
                "/etc/modules-load.d/load.conf": "; comment\ndccp\n# comment\n",
                "/etc/modules": "dccp\nsctp # inline\n",
            ], links: ["/etc/modprobe.d/c-masked.conf": "/dev/null"])
            let configuration = ModprobeConfiguration.load(root: root.path)
            // a-first.conf (from /usr/lib) comes before b-same.conf (from /etc) by name.
            let install = try #require(configuration.install(for: "cramfs"))
            #expect(install.arguments == "/usr/bin/true")
            #expect(install.file == "/usr/lib/modprobe.d/a-first.conf")
            let later = configuration.directives.filter { $0.command == "install" && $0.module == "cramfs" }
            #expect(later.map(\.file) == ["/usr/lib/modprobe.d/a-first.conf", "/etc/modprobe.d/b-same.conf"])
            #expect(later.map(\.effective) == [true, false])
            // - and _ are one name.
            #expect(configuration.blacklist(of: "cram_fs")?.file == "/usr/lib/modprobe.d/a-first.conf")
            #expect(configuration.blacklist(of: "hidden-module") == nil)
            #expect(configuration.blacklist(of: "masked_module") == nil)
            #expect(configuration.blacklist(of: "never_read") == nil)
            let options = try #require(configuration.directives.first { $0.command == "options" })
            #expect(options.module == "usb_storage")
            // kmod joins the two lines as they are: the spaces stay.
            #expect(options.arguments == "delay_use=3   quirks=0")
            #expect(options.line == 1)
            #expect(configuration.unknownLines.map(\.text) == ["frobnicate x"])
            let files = Dictionary(configuration.files.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
            #expect(files["/usr/lib/modprobe.d/b-same.conf"]?.unreadReason == "hidden by /etc/modprobe.d/b-same.conf")
            #expect(files["/etc/modprobe.d/c-masked.conf"]?.isRead == false)
            #expect(files["/usr/lib/modprobe.d/c-masked.conf"]?.unreadReason == "hidden by /etc/modprobe.d/c-masked.conf")
            #expect(files["/etc/modprobe.d/notes.txt"]?.isRead == false)
            // Loaded at boot: modules-load.d, then /etc/modules; dccp counts once.
            let loads = configuration.directives.filter { $0.command == "load" }
            #expect(loads.map(\.module) == ["dccp", "dccp", "sctp"])
            #expect(loads.map(\.effective) == [true, false, true])
        }
    }

    @Test("as kmod: a directory named x.conf is not read and hides nothing; *.alias is read; an install without its command is skipped")
    func kmodEdges() throws {
        try withTemporaryDirectory { root in
            try Self.tree(root, files: [
                "/usr/lib/modprobe.d/cis.conf": "install cramfs /bin/false\n",
                "/etc/modprobe.d/cis.conf/inner": "not read\n",
                "/etc/modprobe.d/old.alias": "blacklist hfs\n",
                "/etc/modprobe.d/a-bare.conf": "install freevxfs\n",
                "/etc/modprobe.d/b-real.conf": "install freevxfs /bin/false\n",
            ])
            let configuration = ModprobeConfiguration.load(root: root.path)
            #expect(configuration.install(for: "cramfs")?.file == "/usr/lib/modprobe.d/cis.conf")
            #expect(configuration.files.first { $0.path == "/etc/modprobe.d/cis.conf" }?.isRead == false)
            #expect(configuration.blacklist(of: "hfs")?.file == "/etc/modprobe.d/old.alias")
            #expect(configuration.install(for: "freevxfs")?.file == "/etc/modprobe.d/b-real.conf")
            #expect(configuration.unknownLines.map(\.text) == ["install freevxfs"])
        }
    }

    @Test("a profile's control passes only with every requirement met; the fix names the missing lines; a module loaded at boot is said")
    func verdicts() throws {
        try withTemporaryDirectory { root in
            try Self.tree(root, files: [
                "/etc/modprobe.d/cis.conf": "install cramfs /bin/false\nblacklist cramfs\ninstall usb-storage /bin/true\n"
                    + "install dccp /bin/sh -c true\nblacklist dccp\n",
                "/etc/modules": "dccp\n",
            ])
            let profileFile = root.appendingPathComponent("profile.toml").path
            try """
                [profile]
                name = "test"
                title = "A test profile"
                version = "1"

                [[control]]
                id = "1"
                title = "cramfs"
                module = "cramfs"
                require = ["install-disabled", "blacklist"]

                [[control]]
                id = "2"
                module = "usb_storage"
                require = ["install-disabled", "blacklist"]

                [[control]]
                id = "3"
                module = "dccp"
                require = ["install-disabled"]

                [[control]]
                id = "4"
                module = "sctp"
                require = ["blacklist"]
                """.write(toFile: profileFile, atomically: false, encoding: .utf8)
            let profile = try ComplianceProfile.load(profileFile)
            let verdicts = profile.evaluate(ModprobeConfiguration.load(root: root.path))
            #expect(verdicts.map(\.passed) == [true, false, false, false])
            #expect(verdicts[1].findings.contains("no blacklist line"))
            #expect(verdicts[1].fix == "add to /etc/modprobe.d/usb_storage.conf: blacklist usb_storage")
            #expect(verdicts[2].findings.contains { $0.hasPrefix("install runs /bin/sh -c true, not /bin/false") })
            // The first install wins: the wrong one is to be changed, not outvoted by a new file.
            #expect(verdicts[2].fix == "change the directive at /etc/modprobe.d/cis.conf:4 to: install dccp /bin/false")
            #expect(verdicts[2].findings.contains { $0.hasPrefix("loaded at boot by /etc/modules:1") })
            #expect(verdicts[3].fix == "add to /etc/modprobe.d/sctp.conf: blacklist sctp")
        }
    }

    @Test("every built-in profile loads, cites its document, names real controls; a bad profile is refused with its reason")
    func builtInProfiles() throws {
        #expect(ComplianceProfile.builtInNames == ["cis-debian-12", "cis-ubuntu-22.04", "cis-ubuntu-24.04", "stig-rhel-8", "stig-rhel-9"])
        for name in ComplianceProfile.builtInNames {
            let profile = try ComplianceProfile.load(name)
            #expect(profile.name == name)
            #expect(!profile.version.isEmpty && profile.reference != nil)
            #expect(profile.controls.count >= 8, "\(name)")
            #expect(profile.controls.contains { ["usb-storage", "usb_storage"].contains($0.module) }, "\(name)")
            #expect(Set(profile.controls.map(\.id)).count == profile.controls.count, "\(name): duplicate ids")
        }
        #expect(try ComplianceProfile.load("stig-rhel-9").installCommands == ["/bin/false", "/usr/bin/false"])
        #expect(throws: ComplianceProfile.LoadError.self) { try ComplianceProfile.load("cis-debian-11") }
        try withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("empty.toml").path
            try "[profile]\nname = \"x\"\ntitle = \"x\"\nversion = \"1\"\ninstall_commands = []\n[[control]]\nid = \"1\"\nmodule = \"m\"\nrequire = [\"install-disabled\"]\n"
                .write(toFile: file, atomically: false, encoding: .utf8)
            #expect(throws: ComplianceProfile.LoadError.self) { try ComplianceProfile.load(file) }
        }
        try withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("bad.toml").path
            try "[profile]\nname = \"x\"\ntitle = \"x\"\nversion = \"1\"\n[[control]]\nid = \"1\"\nmodule = \"m\"\nrequire = [\"unload\"]\n"
                .write(toFile: file, atomically: false, encoding: .utf8)
            do {
                _ = try ComplianceProfile.load(file)
                Issue.record("a profile with an unknown requirement loaded")
            } catch {
                #expect("\(error)".contains("unknown requirement \"unload\""))
            }
        }
        // A profile path that cannot be read says why (a directory opens: errno says nothing).
        try withTemporaryDirectory { directory in
            for (name, reason) in [("a-directory.toml", "not a regular file"), ("missing.toml", "No such file or directory")] {
                let path = directory.appendingPathComponent(name).path
                if name == "a-directory.toml" { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) }
                #expect(throws: ComplianceProfile.LoadError.self) { try ComplianceProfile.load(path) }
                do { _ = try ComplianceProfile.load(path) } catch { #expect("\(error)" == "\(path): cannot be read (\(reason))") }
            }
        }
    }
}
