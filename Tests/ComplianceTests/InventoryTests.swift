@testable import Compliance
import Foundation
import RuleEngine
import Testing
import TestSupport

/// The inventory of a root made here with the real dpkg (a package installed with
/// `dpkg --root`), and of this system against `dpkg-query`.
@Suite("The inventory: files, packages, precedence, verdicts")
struct InventoryTests {
    static let dpkgAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-deb")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg")

    /// Builds and installs into `root` a package shipping a conffile in /etc/modprobe.d
    /// and a file in /usr/lib/modprobe.d.
    static func installPackage(into root: URL, work: URL) throws {
        let package = work.appendingPathComponent("pkg")
        for directory in ["DEBIAN", "etc/modprobe.d", "usr/lib/modprobe.d"] {
            try FileManager.default.createDirectory(at: package.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        try "Package: lkm-fixture\nVersion: 1.0\nArchitecture: all\nMaintainer: audisp-lkm tests <tests@example.org>\nDescription: fixture\n"
            .write(to: package.appendingPathComponent("DEBIAN/control"), atomically: false, encoding: .utf8)
        try "/etc/modprobe.d/lkm-fixture.conf\n".write(to: package.appendingPathComponent("DEBIAN/conffiles"), atomically: false, encoding: .utf8)
        try "install cramfs /bin/false\n".write(to: package.appendingPathComponent("etc/modprobe.d/lkm-fixture.conf"), atomically: false, encoding: .utf8)
        try "blacklist cramfs\n".write(to: package.appendingPathComponent("usr/lib/modprobe.d/lkm-fixture-lib.conf"), atomically: false, encoding: .utf8)
        // Glob characters, which dpkg-query -S would read as a pattern, and a file diverted later.
        try "blacklist tipc\n".write(to: package.appendingPathComponent("usr/lib/modprobe.d/lkm[1]*.conf"), atomically: false, encoding: .utf8)
        try "blacklist rds\n".write(to: package.appendingPathComponent("etc/modprobe.d/lkm-diverted.conf"), atomically: false, encoding: .utf8)
        // A name that is not UTF-8: dpkg lists it by its bytes.
        try ModprobeConfigurationTests.writeFile(named: Array("lkm-".utf8) + [0xFE] + Array(".conf".utf8),
                                                 in: package.appendingPathComponent("usr/lib/modprobe.d"), "blacklist dccp\n")
        let deb = work.appendingPathComponent("lkm-fixture.deb").path
        _ = try runCommand("/usr/bin/dpkg-deb", ["--root-owner-group", "--build", package.path, deb])
        for directory in ["var/lib/dpkg/info", "var/lib/dpkg/updates"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        try Data().write(to: root.appendingPathComponent("var/lib/dpkg/status"))
        _ = try runCommand("/usr/bin/dpkg", ["--root=\(root.path)", "--force-script-chrootless", "--force-not-root", "-i", deb])
    }

    @Test("package-owned files match, a changed one is modified, a planted one is unowned; /etc hides /usr/lib; verdicts pass and fail",
          .enabled(if: dpkgAvailable || TestData.mandatory))
    func packagedRoot() throws {
        try #require(Self.dpkgAvailable, "needs dpkg and dpkg-deb")
        try withTemporaryDirectory { work in
            let root = work.appendingPathComponent("root")
            try Self.installPackage(into: root, work: work)
            // Changed after installation, planted, and a same-name file that hides another.
            try "blacklist cramfs\nblacklist usb-storage\n".write(to: root.appendingPathComponent("usr/lib/modprobe.d/lkm-fixture-lib.conf"),
                                                                 atomically: false, encoding: .utf8)
            try ModprobeConfigurationTests.tree(root, files: [
                "/etc/modprobe.d/planted.conf": "install usb-storage /bin/sh /tmp/payload\n",
                "/usr/lib/modprobe.d/hidden.conf": "install sctp /bin/false\n",
                "/etc/modprobe.d/hidden.conf": "# emptied\n",
                "/etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
                "/etc/group": "root:x:0:\n",
            ])
            // dpkg-query -S then prints "local diversion from: PATH" and "... to: PATH" lines too.
            _ = try runCommand("/usr/bin/dpkg-divert", ["--root=\(root.path)", "--local", "--add", "/etc/modprobe.d/lkm-diverted.conf"])
            let profile = try ComplianceProfile.load("cis-debian-12")
            let inventory = Inventory.take(root: root.path, locations: DetectionRule.defaultRule().locations, profile: profile)
            func entry(_ path: String) -> Inventory.Entry? { inventory.entries.first { $0.path == path } }
            #expect(entry("/usr/lib/modprobe.d/lkm[1]*.conf")?.package == .matches(package: "lkm-fixture"))
            #expect(entry("/etc/modprobe.d/lkm-diverted.conf")?.package == .matches(package: "lkm-fixture"))
            #expect(entry("/etc/modprobe.d/lkm-fixture.conf")?.package == .matches(package: "lkm-fixture"))
            guard case .modified(let package, let detail)? = entry("/usr/lib/modprobe.d/lkm-fixture-lib.conf")?.package else {
                Issue.record("the changed file is not modified: \(String(describing: entry("/usr/lib/modprobe.d/lkm-fixture-lib.conf")?.package))")
                return
            }
            #expect(package == "lkm-fixture")
            let installed = MD5.hex(Array("blacklist cramfs\n".utf8)), now = MD5.hex(Array("blacklist cramfs\nblacklist usb-storage\n".utf8))
            #expect(detail == "md5 \(now), the package has \(installed)")
            #expect(entry("/etc/modprobe.d/planted.conf")?.package == .unowned)
            #expect(entry("/etc/modprobe.d/planted.conf")?.owner == "root")
            #expect(entry("/usr/lib/modprobe.d/lkm-\\xfe.conf")?.kind == "file")
            #expect(entry("/usr/lib/modprobe.d/lkm-\\xfe.conf")?.size == 15)
            #expect(entry("/usr/lib/modprobe.d/lkm-\\xfe.conf")?.package == .matches(package: "lkm-fixture"))
            #expect(inventory.configuration.blacklist(of: "dccp")?.file == "/usr/lib/modprobe.d/lkm-\\xfe.conf")
            #expect(entry("/usr/lib/modprobe.d/hidden.conf")?.isRead == false)
            #expect(entry("/usr/lib/modprobe.d/hidden.conf")?.unreadReason == "hidden by /etc/modprobe.d/hidden.conf")
            #expect(inventory.configuration.install(for: "sctp") == nil)
            let verdicts = Dictionary(uniqueKeysWithValues: inventory.verdicts.map { ($0.control.module, $0) })
            #expect(verdicts["cramfs"]?.passed == true)
            // Blacklisted, but the planted install runs a payload instead of /bin/false.
            #expect(verdicts["usb-storage"]?.passed == false)
            #expect(verdicts["usb-storage"]?.findings.contains { $0.contains("/bin/sh /tmp/payload") } == true)
            #expect(verdicts["sctp"]?.passed == false)
            if case .unavailable = inventory.kmod {} else { Issue.record("kmod compared for a --root inventory") }
        }
    }

    static let rpmAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/rpm")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/rpmbuild")

    @Test("--root: links are followed inside the root, never out of it (an absolute or ../ link to secrets outside reads the root's own path)")
    func linksStayInRoot() throws {
        try withTemporaryDirectory { work in
            let root = work.appendingPathComponent("root"), outside = work.appendingPathComponent("outside")
            for directory in [root.appendingPathComponent("etc/modprobe.d"), root.appendingPathComponent("etc/modules-load.d"), outside] {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            }
            // Secrets outside the root, as a shadow file and a configuration that would win.
            try "root:$6$secret:19000:0:99999:7:::\n".write(to: outside.appendingPathComponent("shadow"), atomically: false, encoding: .utf8)
            try "install usb-storage /tmp/outside-payload\n".write(to: outside.appendingPathComponent("secret.conf"), atomically: false, encoding: .utf8)
            // Inside: links that lead out, absolute and relative, and one to the root's own file.
            try "blacklist cramfs\n".write(to: root.appendingPathComponent("etc/real.conf"), atomically: false, encoding: .utf8)
            let fm = FileManager.default
            try fm.createSymbolicLink(atPath: root.appendingPathComponent("etc/modules").path, withDestinationPath: outside.appendingPathComponent("shadow").path)
            try fm.createSymbolicLink(atPath: root.appendingPathComponent("etc/modprobe.d/leak.conf").path, withDestinationPath: "../../../outside/secret.conf")
            try fm.createSymbolicLink(atPath: root.appendingPathComponent("etc/modprobe.d/inner.conf").path, withDestinationPath: "/etc/real.conf")
            try fm.createSymbolicLink(atPath: root.appendingPathComponent("etc/modules-load.d").appendingPathComponent("loop.conf").path,
                                      withDestinationPath: "loop.conf")
            let inventory = Inventory.take(root: root.path, locations: DetectionRule.defaultRule().locations, profile: nil)
            let directives = inventory.configuration.directives
            #expect(!directives.contains { $0.arguments.contains("outside-payload") || $0.module.contains("$6$") || $0.module.contains("root:") },
                    "\(directives)")
            #expect(directives.contains { $0.command == "blacklist" && $0.module == "cramfs" && $0.file == "/etc/modprobe.d/inner.conf" })
            // The links themselves are listed, with their targets as written.
            #expect(inventory.entries.contains { $0.path == "/etc/modprobe.d/leak.conf" && $0.linkTarget == "../../../outside/secret.conf" })
        }
    }

    @Test("--root: a dpkg database holding a link (which dpkg-query would follow out of the root) is not asked",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-query") || TestData.mandatory))
    func dpkgDatabaseWithLinks() throws {
        try withTemporaryDirectory { root in
            let info = root.appendingPathComponent("var/lib/dpkg/info")
            try FileManager.default.createDirectory(at: info, withIntermediateDirectories: true)
            try "".write(to: root.appendingPathComponent("var/lib/dpkg/status"), atomically: false, encoding: .utf8)
            let locations = DetectionRule.defaultRule().locations
            #expect(Inventory.take(root: root.path, locations: locations, profile: nil).packageDatabase == "dpkg")
            try FileManager.default.createSymbolicLink(atPath: info.appendingPathComponent("evil.list").path, withDestinationPath: "/etc/shadow")
            #expect(Inventory.take(root: root.path, locations: locations, profile: nil).packageDatabase == "none")
        }
    }

    @Test("inventory --root never writes into the root: names, sizes and times the same after (rpm asked only about a database it holds)")
    func rootUnchanged() throws {
        try withTemporaryDirectory { root in
            try FileManager.default.createDirectory(at: root.appendingPathComponent("etc/modprobe.d"), withIntermediateDirectories: true)
            try "install cramfs /bin/false\n".write(to: root.appendingPathComponent("etc/modprobe.d/x.conf"), atomically: false, encoding: .utf8)
            func tree() throws -> [String] {
                let keys: [URLResourceKey] = [.fileSizeKey, .contentModificationDateKey]
                let walker = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys))
                return try walker.map { entry -> String in
                    let url = entry as! URL
                    let values = try url.resourceValues(forKeys: Set(keys))
                    return "\(url.path) \(values.fileSize ?? -1) \(values.contentModificationDate?.timeIntervalSince1970 ?? -1)"
                }.sorted()
            }
            let before = try tree()
            let inventory = Inventory.take(root: root.path, locations: DetectionRule.defaultRule().locations, profile: nil)
            #expect(inventory.entries.contains { $0.path == "/etc/modprobe.d/x.conf" })
            #expect(try tree() == before)
        }
    }

    @Test("an RPM root: the package's files match, a changed one is modified (rpm -V's flags), a planted one is unowned",
          .enabled(if: rpmAvailable || TestData.mandatory))
    func rpmRoot() throws {
        try #require(Self.rpmAvailable, "needs rpm and rpmbuild")
        try withTemporaryDirectory { work in
            let spec = work.appendingPathComponent("lkm-fixture.spec").path
            try """
                Name: lkm-fixture
                Version: 1.0
                Release: 1
                Summary: audisp-lkm test fixture
                License: MIT
                BuildArch: noarch
                %description
                A file in each place, for the inventory's tests.
                %install
                mkdir -p %{buildroot}/etc/modprobe.d %{buildroot}/usr/lib/modprobe.d
                echo "install cramfs /bin/false" > %{buildroot}/etc/modprobe.d/lkm-fixture.conf
                echo "blacklist cramfs" > %{buildroot}/usr/lib/modprobe.d/lkm-fixture-lib.conf
                echo "blacklist sctp" > "%{buildroot}/usr/lib/modprobe.d/lkm spaced.conf"
                %files
                %config(noreplace) /etc/modprobe.d/lkm-fixture.conf
                /usr/lib/modprobe.d/lkm-fixture-lib.conf
                "/usr/lib/modprobe.d/lkm spaced.conf"

                """.write(toFile: spec, atomically: false, encoding: .utf8)
            let top = work.appendingPathComponent("rpmbuild").path
            _ = try runCommand("/usr/bin/rpmbuild", ["--define", "_topdir \(top)", "-bb", spec])
            let package = "\(top)/RPMS/noarch/lkm-fixture-1.0-1.noarch.rpm"
            let root = work.appendingPathComponent("root")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            _ = try runCommand("/usr/bin/rpm", ["--root", root.path, "--initdb"])
            _ = try runCommand("/usr/bin/rpm", ["--root", root.path, "-i", "--nodeps", "--noscripts", package])
            try "blacklist cramfs\nblacklist usb-storage\n".write(to: root.appendingPathComponent("usr/lib/modprobe.d/lkm-fixture-lib.conf"),
                                                                 atomically: false, encoding: .utf8)
            try "install usb-storage /bin/true\n".write(to: root.appendingPathComponent("etc/modprobe.d/planted.conf"),
                                                        atomically: false, encoding: .utf8)
            // rpm -V names it after its flags and a space: the path is what follows, spaces and all.
            try "install sctp /tmp/payload\n".write(to: root.appendingPathComponent("usr/lib/modprobe.d/lkm spaced.conf"),
                                                    atomically: false, encoding: .utf8)
            let inventory = Inventory.take(root: root.path, locations: DetectionRule.defaultRule().locations, profile: nil)
            #expect(inventory.packageDatabase == "rpm")
            func state(_ path: String) -> PackageDatabase.State? { inventory.entries.first { $0.path == path }?.package }
            #expect(state("/etc/modprobe.d/lkm-fixture.conf") == .matches(package: "lkm-fixture"))
            guard case .modified(let owner, let detail)? = state("/usr/lib/modprobe.d/lkm-fixture-lib.conf") else {
                Issue.record("the changed file is not modified: \(String(describing: state("/usr/lib/modprobe.d/lkm-fixture-lib.conf")))")
                return
            }
            #expect(owner == "lkm-fixture" && detail.hasPrefix("rpm -V: S.5"), "\(detail)")
            #expect(state("/etc/modprobe.d/planted.conf") == .unowned)
            guard case .modified(_, let spacedDetail)? = state("/usr/lib/modprobe.d/lkm spaced.conf") else {
                Issue.record("the changed file with a space is not modified: \(String(describing: state("/usr/lib/modprobe.d/lkm spaced.conf")))")
                return
            }
            #expect(spacedDetail.hasPrefix("rpm -V: S.5"), "\(spacedDetail)")
        }
    }

    @Test("two names that differ only in their bytes (é composed and decomposed) are two files, each read")
    func canonicallyEquivalentNames() throws {
        try withTemporaryDirectory { root in
            let directory = root.appendingPathComponent("etc/modprobe.d")
            let composed = Array("\u{E9}.conf".utf8), decomposed = Array("e\u{301}.conf".utf8)
            try ModprobeConfigurationTests.writeFile(named: composed, in: directory, "blacklist cramfs\n")
            try ModprobeConfigurationTests.writeFile(named: decomposed, in: directory, "blacklist udf\n")
            // Swift's String equality is canonical: as text the two names are equal.
            #expect(String(decoding: composed, as: UTF8.self) == String(decoding: decomposed, as: UTF8.self))
            let inventory = Inventory.take(root: root.path, locations: DetectionRule.defaultRule().locations, profile: nil)
            let files = inventory.entries.filter { $0.kind == "file" }
            #expect(Set(files.map { Array($0.path.utf8) }) == [Array("/etc/modprobe.d/".utf8) + composed, Array("/etc/modprobe.d/".utf8) + decomposed])
            #expect(files.allSatisfy { $0.isRead == true && $0.package == .noDatabase }, "\(files)")
            #expect(Set(inventory.configuration.directives.map(\.module)) == ["cramfs", "udf"])
        }
    }

    @Test("a file written while kmod reads is no difference: the pair is taken again; a configuration that keeps changing is said to")
    func kmodBesideAChange() throws {
        try withTemporaryDirectory { root in
            let directory = root.appendingPathComponent("etc/modprobe.d")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try "blacklist cramfs\n".write(to: directory.appendingPathComponent("a.conf"), atomically: false, encoding: .utf8)
            let load = { ModprobeConfiguration.load(root: root.path) }
            // kmod's reading is this root's as it is when kmod reads it; the first time, a
            // writer adds a file just before.
            var readings = 0
            func kmodReads(_ configuration: ModprobeConfiguration) -> Inventory.KmodComparison {
                readings += 1
                if readings == 1 {
                    try? "blacklist usb-storage\n".write(to: directory.appendingPathComponent("b.conf"), atomically: false, encoding: .utf8)
                }
                let theirs = load().directives, ours = configuration.directives
                return theirs == ours ? .agrees(directives: theirs.count) : .differs(["\(theirs.count) against \(ours.count)"])
            }
            let (configuration, kmod) = Inventory.readBeside(load: load, compare: kmodReads)
            #expect(readings == 2)
            #expect(configuration.directives.map(\.module) == ["cramfs", "usb_storage"])
            guard case .agrees(directives: 2) = kmod else { Issue.record("\(kmod)"); return }

            var writes = 0
            let (_, changing) = Inventory.readBeside(load: load) { _ in
                writes += 1
                try? "blacklist m\(writes)\n".write(to: directory.appendingPathComponent("c\(writes).conf"), atomically: false, encoding: .utf8)
                return .agrees(directives: 0)
            }
            #expect(writes == 3)
            guard case .unavailable(let reason) = changing else { Issue.record("\(changing)"); return }
            #expect(reason.contains("kept changing"))
        }
    }

    @Test("on this system: each file's owner is the one dpkg-query -S names, and kmod reads the same directives",
          .enabled(if: dpkgAvailable || TestData.mandatory))
    func thisSystem() throws {
        try #require(Self.dpkgAvailable, "needs dpkg")
        // The end-to-end suites write into /etc/modprobe.d holding this lock; the comparison
        // with dpkg-query file by file needs the places to stay as they are meanwhile.
        try withSystemAuditLock { try inventoryOfThisSystem() }
    }

    func inventoryOfThisSystem() throws {
        let inventory = Inventory.take(root: "/", locations: DetectionRule.defaultRule().locations, profile: nil)
        var owned = 0
        for entry in inventory.entries where entry.kind == "file" {
            let asked = try? runCommand("/usr/bin/dpkg-query", ["-S", entry.path])
            // dpkg may list a merged-/usr file under /lib.
            let alias = entry.path.hasPrefix("/usr/lib/") ? try? runCommand("/usr/bin/dpkg-query", ["-S", String(entry.path.dropFirst(4))]) : nil
            let owner = (asked ?? alias)?.split(separator: ":").first.map(String.init)
            #expect(entry.package.package == owner, "\(entry.path): \(entry.package) against dpkg-query \(String(describing: owner))")
            if owner != nil {
                owned += 1
                #expect(entry.package.name == "matches" || entry.package.name == "modified" || entry.package.name == "owned")
            }
        }
        // .ci/run installs kmod, whose files are in these places.
        if TestData.mandatory { #expect(owned > 0, "no package-owned file in the places: is kmod installed?") }
        if FileManager.default.isExecutableFile(atPath: "/usr/sbin/modprobe") || FileManager.default.isExecutableFile(atPath: "/sbin/modprobe") {
            guard case .agrees = inventory.kmod else {
                Issue.record("kmod reads other directives: \(inventory.kmod)")
                return
            }
        } else if TestData.mandatory {
            Issue.record("kmod is not installed: .ci/run installs it")
        }
    }
}
