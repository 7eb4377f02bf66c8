import Foundation
import Glibc
import HostFiles
import PlaceBaseline
import Testing
import TestSupport

@Suite("The baseline of the places: scan, compare, persist")
struct BaselineTests {
    @Test("SHA-256 matches sha256sum, on sizes around the block boundary")
    func digests() throws {
        try withTemporaryDirectory { directory in
            for size in [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 70_000] {
                let bytes = (0 ..< size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
                let file = directory.appendingPathComponent("f\(size)")
                try Data(bytes).write(to: file)
                let expected = try runCommand("/usr/bin/sha256sum", [file.path]).prefix(64)
                var hash = SHA256()
                // Fed in uneven pieces, as a file read in chunks is.
                var rest = bytes[...]
                while !rest.isEmpty {
                    let piece = rest.prefix(37)
                    hash.update(piece)
                    rest = rest.dropFirst(piece.count)
                }
                #expect(String(hexOf: hash.finish()) == expected, "size \(size)")
            }
        }
    }

    @Test("a rename is the same file under a new name; a name with a new inode and other content is a modification")
    func renamesAndReplacements() throws {
        try withTemporaryDirectory { directory in
            let place = directory.path
            try "options a\n".write(toFile: place + "/a.conf", atomically: false, encoding: .utf8)
            try "options b\n".write(toFile: place + "/b.conf", atomically: false, encoding: .utf8)
            try "options c\n".write(toFile: place + "/c.conf", atomically: false, encoding: .utf8)
            let scanner = PlaceScanner(places: [.init(path: RawPath(place), isDirectory: true)])
            let before = scanner.scan(at: 1)
            rename(place + "/a.conf", place + "/moved.conf")
            // b.conf replaced by another file with other content (sed -i does this).
            try "options B\n".write(toFile: place + "/b.new", atomically: false, encoding: .utf8)
            rename(place + "/b.new", place + "/b.conf")
            // c.conf replaced by a file of the same content: nothing modprobe reads changed.
            try "options c\n".write(toFile: place + "/c.new", atomically: false, encoding: .utf8)
            rename(place + "/c.new", place + "/c.conf")
            let changes = scanner.scan(at: 2).changes(since: before)
            #expect(changes.map(\.action) == [.modification, .rename], "\(changes)")
            #expect(changes.first?.path == RawPath(place + "/b.conf"))
            #expect(changes.first?.before?.inode != changes.first?.after?.inode)
            #expect(changes.last?.path == RawPath(place + "/moved.conf"))
            #expect(changes.last?.originalPath == RawPath(place + "/a.conf"))
        }
    }

    @Test("changed content of the same size, its modification time set back, is found by its digest")
    func contentWithTimeSetBack() throws {
        try withTemporaryDirectory { directory in
            let file = directory.path + "/x.conf"
            try "blacklist aaaa\n".write(toFile: file, atomically: false, encoding: .utf8)
            try runCommand("/usr/bin/touch", ["-d", "2020-01-01 00:00:00", file])
            let scanner = PlaceScanner(places: [.init(path: RawPath(directory.path), isDirectory: true)])
            let before = scanner.scan(at: 1)
            let fd = open(file, O_WRONLY)
            _ = "install bbbb\n\n".withCString { write(fd, $0, 14) }
            close(fd)
            try runCommand("/usr/bin/touch", ["-d", "2020-01-01 00:00:00", file])
            let after = scanner.scan(at: 2)
            let changes = after.changes(since: before)
            #expect(changes.count == 1 && changes.first?.action == .modification, "\(changes)")
            #expect(changes.first?.before?.size == changes.first?.after?.size)
            #expect(changes.first?.before?.modified == changes.first?.after?.modified)
            #expect(changes.first?.before?.digestText != changes.first?.after?.digestText)
            // Mode alone: attributes.
            chmod(file, 0o600)
            #expect(scanner.scan(at: 3).changes(since: after).map(\.action) == [.attributes])
        }
    }

    @Test("a name that is not UTF-8 is kept as bytes, through a save and a load")
    func bytesNamesPersisted() throws {
        try withTemporaryDirectory { directory in
            let name: [UInt8] = Array("evil-".utf8) + [0xFF, 0xFE, 0x0A] + Array(".conf".utf8)
            let path = RawPath(directory.path).appending(name: name)
            let fd = path.withCString { open($0, O_CREAT | O_WRONLY, 0o644) }
            #expect(fd >= 0)
            close(fd)
            let scanner = PlaceScanner(places: [.init(path: RawPath(directory.path), isDirectory: true),
                                                .init(path: RawPath(directory.path + "/missing"), isDirectory: false)])
            let baseline = scanner.scan(at: 1_800_000_000)
            #expect(baseline.entries[path]?.kind == .file)
            #expect(baseline.changes(since: Baseline(recorded: 0, entries: [:], complete: true)).contains { $0.path == path && $0.action == .creation })

            let state = directory.appendingPathComponent("state").path
            let store = BaselineStore(directory: state)
            try store.prepare()
            #expect(try store.load() == nil)
            try store.save(baseline)
            #expect(try store.load() == baseline)
            var status = stat()
            stat(store.path, &status)
            #expect(status.st_mode & 0o777 == 0o600)
            // A corrupted file is an error, not an empty baseline.
            try "audisp-lkm baseline 1\nrecorded 5 complete\nzz file 1\n".write(toFile: store.path, atomically: false, encoding: .utf8)
            #expect(throws: BaselineStore.Problem.self) { try store.load() }
        }
    }

    @Test("the state directory must be root's and writable by root alone", .enabled(if: getuid() == 0))
    func stateDirectoryOwnership() throws {
        try withTemporaryDirectory { directory in
            let state = directory.appendingPathComponent("state").path
            let store = BaselineStore(directory: state)
            try store.prepare()
            chmod(state, 0o777)
            #expect(throws: BaselineStore.Problem.self) { try store.prepare() }
            chmod(state, 0o700)
            chown(state, 1, 1)
            #expect(throws: BaselineStore.Problem.self) { try store.prepare() }
        }
    }

    @Test("a mount point in a place is recorded, never read; the scan stops at its bound")
    func boundsAndMountPoints() throws {
        try withTemporaryDirectory { directory in
            for index in 0 ..< 10 { close(open(directory.path + "/f\(index).conf", O_CREAT | O_WRONLY, 0o644)) }
            let scanner = PlaceScanner(places: [.init(path: RawPath(directory.path), isDirectory: true)])
            let baseline = scanner.scan(at: 1)
            #expect(baseline.entries.count == 11 && baseline.complete)
            #expect(baseline.entries.values.filter { $0.kind == .file }.allSatisfy { $0.content == .digest(SHA256.digest([])) })
        }
    }
}
