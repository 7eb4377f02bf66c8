import Detection
import FileEvents
import Glibc
import HostFiles
import PlaceBaseline
import RuleEngine

/// What only the live plugin can ask: the file system as it stands now. Each answers at
/// once or not at all: nothing is read on a FUSE or network file system, whose server (an
/// attacker's, behind a symbolic link made in a place's name) could make the plugin wait.
public enum LiveSystem {
    /// File systems served by a process or over the network (`/proc/self/mountinfo` names).
    private static let remoteTypes = ["fuse", "nfs", "cifs", "smb", "9p", "ceph", "glusterfs", "afs", "sshfs", "davfs"]

    /// What this host's dpkg database says of executables (`ProgramOwnership`): the
    /// plugin's, and a report's made on the host its logs come from.
    public static func programStanding() -> @Sendable (RawPath) -> ProgramStanding {
        let ownership = ProgramOwnership()
        return { ownership.standing(of: $0) }
    }

    /// The detector's view of this host: what the records leave out, asked of the file
    /// system as it stands now.
    public static func host(usrMerge: UsrMerge) -> LiveHost {
        LiveHost(namesOfInode: { names(in: $0, inode: $1) },
                 directories: { directories($0, usrMerge: usrMerge) },
                 entries: { entries(in: $0, limit: $1) },
                 programStanding: programStanding(),
                 now: { MonotonicClock.seconds() })
    }

    /// The places the baseline covers: the rule's directories and files, canonical, on
    /// local file systems only (nothing is read where a server could make the plugin wait).
    public static func places(of rule: DetectionRule, usrMerge: UsrMerge) -> [PlaceScanner.Place] {
        PlaceScanner.places(rule.locations.map { ($0.path, $0.isDirectory) }, usrMerge: usrMerge).filter { isLocal($0.path) }
    }

    /// Whether `path` (symbolic links followed as text, from the links themselves) is on a
    /// local file system, judged from the mount table, which never waits.
    public static func isLocal(_ path: RawPath) -> Bool {
        var resolved = path
        for _ in 0 ..< 8 {
            guard let link = SmallFile.linkTarget(resolved) else { break }
            resolved = link.isAbsolute ? link.normalized : resolved.directory.appending(link)
        }
        guard let file = fopen("/proc/self/mountinfo", "r") else { return false }
        defer { fclose(file) }
        var best: (point: RawPath, type: String)?
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), file) != nil {
            // ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS ... - TYPE SOURCE SUPER-OPTIONS
            let fields = String(cString: line).split(separator: " ")
            guard fields.count > 4, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { continue }
            // Spaces in mount points are written as \040.
            let point = RawPath(fields[4].split(separator: "\\040", omittingEmptySubsequences: false).joined(separator: " "))
            let under = point == "/" || resolved == point || point.isAbove(resolved)
            if under, point.bytes.count >= (best?.point.bytes.count ?? -1) { best = (point, String(fields[dash + 1])) }
        }
        guard let type = best?.type else { return false }
        return !remoteTypes.contains { type.hasPrefix($0) }
    }

    /// The directories among `paths` (canonical), with the identity PATH records give
    /// them: the kernel logs `dev=` as MAJOR:MINOR in two-digit lower-case hex.
    public static func directories(_ paths: [RawPath], usrMerge: UsrMerge) -> [(path: RawPath, key: DirectoryKey)] {
        paths.compactMap { path in
            guard isLocal(path), let status = try? path.status(followingLinks: true), (status.st_mode & S_IFMT) == S_IFDIR
            else { return nil }
            return (usrMerge.canonical(path), DirectoryKey(node: nil, device: deviceText(status.st_dev), inode: UInt64(status.st_ino)))
        }
    }

    /// `dev=` as the kernel logs it: glibc's major() and minor() (macros Swift cannot call).
    static func deviceText(_ device: dev_t) -> String {
        let dev = UInt64(device)
        let major = UInt32(truncatingIfNeeded: ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff))
        let minor = UInt32(truncatingIfNeeded: (dev & 0xff) | ((dev >> 12) & ~0xff))
        func hex(_ value: UInt32) -> String {
            let digits = String(value, radix: 16)
            return digits.count < 2 ? "0" + digits : digits
        }
        return "\(hex(major)):\(hex(minor))"
    }

    /// The names in `directory` (not `.` and `..`), at most `limit`; `more` when there are
    /// others.
    public static func entries(in directory: RawPath, limit: Int) -> (names: [[UInt8]], more: Bool) {
        var names: [[UInt8]] = []
        var more = false
        forEachEntry(in: directory) { name, _ in
            guard names.count < limit else { more = true; return false }
            names.append(name)
            return true
        }
        return (names, more)
    }

    /// Calls `body` with each entry's name and inode until it returns false; nothing on a
    /// file system that could make the plugin wait, or a directory that cannot be read.
    private static func forEachEntry(in directory: RawPath, _ body: (_ name: [UInt8], _ inode: UInt64) -> Bool) {
        guard isLocal(directory) else { return }
        try? SmallFile.forEachEntry(in: directory) { body($0.bytes, $1) }
    }

    /// The names of the entries with inode `inode` in `directory`, at most
    /// `namesWithInodeLimit`: io_uring logs no names, and a file just made is found by
    /// the inode its CREATE item has. One entry is the name made, even when the file has
    /// other names elsewhere (a hard link); several here are hard links made since.
    public static func names(in directory: RawPath, inode: UInt64) -> [[UInt8]] {
        var found: [[UInt8]] = []
        forEachEntry(in: directory) { name, entryInode in
            if entryInode == inode { found.append(name) }
            return found.count < namesWithInodeLimit
        }
        return found
    }

    public static let namesWithInodeLimit = 16
}
