import Foundation
import Glibc
import Testing
import TestSupport

@Suite("audisp-lkm inventory, end to end")
struct InventoryCommandTests {
    @Test("run by a user who may not read a file kmod reads: the file says why, and no control passes",
          .enabled(if: getuid() == 0 || TestData.mandatory))
    func unprivileged() throws {
        try #require(getuid() == 0, "needs root, to run the inventory as nobody")
        try withTemporaryDirectory { directory in
            // nobody reaches the root and a copy of the binary (the build may sit under /root).
            #expect(chmod(directory.path, 0o755) == 0)
            let binary = directory.appendingPathComponent("audisp-lkm").path
            try FileManager.default.copyItem(atPath: TestData.executable.path, toPath: binary)
            let places = directory.appendingPathComponent("root/etc/modprobe.d")
            try FileManager.default.createDirectory(at: places, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
            try "install usb-storage /bin/false\nblacklist usb-storage\n".write(to: places.appendingPathComponent("usb_storage.conf"),
                                                                              atomically: false, encoding: .utf8)
            // Root's own file, which kmod (run by root) reads first: its install would win.
            let secret = places.appendingPathComponent("a-secret.conf").path
            try "install usb-storage /tmp/payload\n".write(toFile: secret, atomically: false, encoding: .utf8)
            #expect(chmod(secret, 0o600) == 0 && chmod(places.appendingPathComponent("usb_storage.conf").path, 0o644) == 0)
            let root = directory.appendingPathComponent("root").path
            for path in [directory.appendingPathComponent("root").path, directory.appendingPathComponent("root/etc").path] {
                #expect(chmod(path, 0o755) == 0)
            }

            func inventory(as user: [String]) throws -> [[String: Any]] {
                let arguments = [binary, "inventory", "--root", root, "--profile", "cis-debian-12", "--format", "json"]
                let run = user.isEmpty ? try audispLKM(Array(arguments.dropFirst()), executable: binary)
                    : try audispLKM(user + arguments, executable: "/usr/bin/setpriv")
                try #require(run.status == 0, "\(run.err)")
                return try run.out.split(separator: "\n").map {
                    try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
                }
            }
            let nobody = try inventory(as: ["--reuid=65534", "--regid=65534", "--clear-groups"])
            let file = try #require(nobody.first { jsonField($0, "file.path") as? String == "/etc/modprobe.d/a-secret.conf" })
            #expect(jsonField(file, "audisp_lkm.read_problem") as? String == "Permission denied")
            let usb = try #require(nobody.first { $0["module"] as? String == "usb-storage" })
            #expect(usb["verdict"] as? String == "fail")
            #expect((usb["findings"] as? [String])?.contains(
                "cannot be decided: kmod reads /etc/modprobe.d/a-secret.conf, which cannot be read here (Permission denied)") == true, "\(usb)")

            // A directory nobody may list, with the compliant lines in /usr/lib: what /etc
            // says is unknown, so no control passes either.
            let library = directory.appendingPathComponent("root/usr/lib/modprobe.d")
            try FileManager.default.createDirectory(at: library, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            try FileManager.default.moveItem(at: places.appendingPathComponent("usb_storage.conf"), to: library.appendingPathComponent("usb_storage.conf"))
            #expect(chmod(secret, 0o644) == 0 && chmod(places.path, 0o700) == 0)
            let hidden = try inventory(as: ["--reuid=65534", "--regid=65534", "--clear-groups"])
            let hiddenUSB = try #require(hidden.first { $0["module"] as? String == "usb-storage" })
            #expect(hiddenUSB["verdict"] as? String == "fail")
            #expect((hiddenUSB["findings"] as? [String])?.contains(
                "cannot be decided: kmod reads /etc/modprobe.d, which cannot be read here (cannot be listed: Permission denied)") == true, "\(hiddenUSB)")

            // Root reads it: the install that wins is the payload, named where it is.
            let asRoot = try inventory(as: [])
            let rootUSB = try #require(asRoot.first { $0["module"] as? String == "usb-storage" })
            #expect(rootUSB["verdict"] as? String == "fail")
            #expect((rootUSB["findings"] as? [String])?.contains { $0.hasPrefix("install runs /tmp/payload") && $0.contains("a-secret.conf:1") } == true,
                    "\(rootUSB)")
        }
    }
}
