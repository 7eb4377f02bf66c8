import FileEvents
import Glibc
import HostFiles
import RuleEngine
import Synchronization

/// Whether an executable is a program as installed, for the `process.name` exclusions of
/// the rule (`BorrowedExclusionRule`): owned by a dpkg package (`dpkg-query -S`, both
/// spellings of a merged `/usr`) and in a directory only root can write. Answers are
/// cached by the file's device, inode, size and modification time, so that a copy, a
/// replacement or an upgrade is asked again; bound: `capacity` files. Asked only for
/// events an exclusion on a name removed, which are rare; one question costs a
/// `dpkg-query` run (tens of milliseconds).
final class ProgramOwnership: Sendable {
    private struct Identity: Hashable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int64
        var modifiedNanoseconds: Int64
    }

    static let capacity = 4096
    private let answers = Mutex<[Identity: ProgramStanding]>([:])

    func standing(of path: RawPath) -> ProgramStanding {
        guard !path.isEmpty, let status = try? path.status(followingLinks: true) else {
            return .notInstalled("\(path.text) cannot be examined")
        }
        let directory = path.directory
        if let parent = try? directory.status(followingLinks: true), RawPath.ownershipFault(parent) != nil {
            return .notInstalled("\(path.text) is in \(directory.text), which others than root can write")
        }
        let identity = Identity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: Int64(status.st_size),
                                modified: Int64(status.st_mtim.tv_sec), modifiedNanoseconds: Int64(status.st_mtim.tv_nsec))
        if let known = answers.withLock({ $0[identity] }) { return known }
        let answer = Self.ask(path)
        answers.withLock { cache in
            if cache.count >= Self.capacity { cache.removeAll() }
            cache[identity] = answer
        }
        return answer
    }

    /// dpkg's owner of `path`; without dpkg, the location alone.
    private static func ask(_ path: RawPath) -> ProgramStanding {
        guard let owners = DpkgOwners.of([path]) else { return ProgramStanding.byLocation(path) }
        return owners[path].map { .installed(package: $0) } ?? .notInstalled("no installed package owns \(path.text)")
    }
}
