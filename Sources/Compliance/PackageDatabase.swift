import Glibc
import HostFiles

/// Which package owns a file and whether the file still has the package's content, from
/// the package database under a root, so that a mounted image is read with its own:
///
/// - dpkg (`ROOT/var/lib/dpkg`, asked with `dpkg-query --admindir`): checksums are dpkg's
///   own, the package's `md5sums` (`--control-show`) for packaged files and the
///   `Conffiles` field for configuration files (most of what ships in /etc/modprobe.d),
///   compared here;
/// - RPM (`rpm --root ROOT`, when it has packages there): `rpm -qf` names the owner and
///   `rpm -V` compares the content (its flags say what differs: `5` the digest).
public struct PackageDatabase: Sendable {
    /// What the database says about one file.
    public enum State: Sendable, Equatable {
        /// Owned by a package, with the package's content.
        case matches(package: String)
        /// Owned by a package, and changed since it was installed: how (the checksums, or
        /// rpm -V's flags).
        case modified(package: String, detail: String)
        /// Owned by a package that records no checksum for it (or it cannot be read).
        case owned(package: String, note: String)
        /// No package owns it: someone put it there.
        case unowned
        /// This root has no package database to ask.
        case noDatabase
        /// A directory or device: packages own files and links.
        case notPackaged

        public var package: String? {
            switch self {
            case .matches(let package), .modified(let package, _), .owned(let package, _): package
            case .unowned, .noDatabase, .notPackaged: nil
            }
        }

        /// `matches`, `modified`, `owned`, `unowned`, `no-database` or `-`.
        public var name: String {
            switch self {
            case .matches: "matches"
            case .modified: "modified"
            case .owned: "owned"
            case .unowned: "unowned"
            case .noDatabase: "no-database"
            case .notPackaged: "-"
            }
        }
    }

    /// The database found under the root.
    public enum Kind: String, Sendable {
        case dpkg, rpm, none
    }

    public let root: String
    public let kind: Kind
    private let prefix: String
    static let dpkgQuery = DpkgOwners.dpkgQuery
    static let rpm = "/usr/bin/rpm"

    public init(root: String) {
        self.root = root
        prefix = root == "/" ? "" : root
        if let dpkgStatus = Self.inRoot("/var/lib/dpkg/status", prefix), (try? RawPath(dpkgStatus).status(followingLinks: true)) != nil,
           RawPath(Self.dpkgQuery).isAccessible(X_OK), prefix.isEmpty || !Self.dpkgDatabaseHoldsLinks(prefix) {
            kind = .dpkg
        } else if Self.holdsRPMDatabase(prefix),
                  let (output, _) = runProgram(Self.rpm, ["--root", root, "-qa", "--qf", "%{NAME}\n"]), !output.isEmpty {
            kind = .rpm
        } else {
            kind = .none
        }
    }

    /// Whether the root at `prefix` holds an RPM database where this system's rpm looks
    /// (`%_dbpath` under the root). rpm asked about a root without one creates one there,
    /// and the root may be a suspect disk that must not change.
    static func holdsRPMDatabase(_ prefix: String) -> Bool {
        guard RawPath(rpm).isAccessible(X_OK), let (output, _) = runProgram(rpm, ["--eval", "%_dbpath"]) else { return false }
        let dbpath = String(decoding: output, as: UTF8.self).trimmed(" \t\n")
        guard dbpath.hasPrefix("/") else { return false }
        return ["rpmdb.sqlite", "Packages", "Packages.db"].contains {
            guard let file = inRoot(dbpath + "/" + $0, prefix) else { return false }
            return (try? RawPath(file).status(followingLinks: true)) != nil
        }
    }

    /// Whether the dpkg database of the root at `prefix` holds a symbolic link where
    /// dpkg-query reads (its top-level files, `info/`, `updates/`, `triggers/`):
    /// dpkg-query would follow it out of the root, so such a database is not asked.
    static func dpkgDatabaseHoldsLinks(_ prefix: String) -> Bool {
        guard let admin = RawPath("/var/lib/dpkg").inRoot(RawPath(prefix), followingLast: true) else { return true }
        var holdsLink = false
        for directory in [admin] + ["info", "updates", "triggers"].map({ admin + RawPath("/" + $0) }) {
            try? SmallFile.forEachEntry(in: directory) { name, _ in
                let entry = directory + RawPath("/") + name
                if let status = try? entry.status(), status.st_mode & S_IFMT == S_IFLNK { holdsLink = true }
                return !holdsLink
            }
            if holdsLink { return true }
        }
        return false
    }

    /// `path` inside the root at `prefix`, its links followed there (`RawPath.inRoot`).
    static func inRoot(_ path: String, _ prefix: String) -> String? {
        RawPath(path).inRoot(RawPath(prefix), followingLast: true).map(\.lossyText)
    }

    /// The state of each path (as the system sees it, not prefixed with the root); `links`
    /// are symbolic links, for which no content is compared. Paths are bytes throughout:
    /// two names that differ only in their bytes (`é` composed or not) are two files.
    public func states(of paths: [RawPath], links: Set<RawPath> = []) -> [RawPath: State] {
        switch kind {
        case .dpkg: dpkgStates(of: paths, links: links)
        case .rpm: rpmStates(of: paths, links: links)
        case .none: Dictionary(paths.map { ($0, .noDatabase) }, uniquingKeysWith: { first, _ in first })
        }
    }

    // MARK: dpkg

    /// On a merged-/usr system dpkg may list `/lib/x` for `/usr/lib/x`: both spellings are
    /// asked.
    private func dpkgStates(of paths: [RawPath], links: Set<RawPath>) -> [RawPath: State] {
        let adminDirectory = Self.inRoot("/var/lib/dpkg", prefix) ?? prefix + "/var/lib/dpkg"
        let spellings = DpkgOwners.spellings(of: paths)
        let owners = DpkgOwners.of(paths, adminDirectory: adminDirectory) ?? [:]
        let sums = dpkgChecksums(of: Set(owners.values), adminDirectory: adminDirectory, spellings: spellings)
        var result: [RawPath: State] = [:]
        for path in paths {
            guard let package = owners[path] else { result[path] = .unowned; continue }
            if links.contains(path) {
                result[path] = .owned(package: package, note: "a symbolic link: no checksum")
                continue
            }
            guard let expected = sums[path] else {
                result[path] = .owned(package: package, note: "the package records no checksum for it")
                continue
            }
            guard let file = path.inRoot(RawPath(prefix), followingLast: true), let bytes = SmallFile.bytes(file) else {
                result[path] = .owned(package: package, note: "cannot be read to compare")
                continue
            }
            let actual = MD5.hex(bytes)
            result[path] = actual == expected ? .matches(package: package)
                : .modified(package: package, detail: "md5 \(actual), the package has \(expected)")
        }
        return result
    }

    /// The checksums `packages` record, keyed by the path asked: conffiles from the
    /// status database, other files from the package's `md5sums`.
    private func dpkgChecksums(of packages: Set<String>, adminDirectory: String, spellings: [RawPath: RawPath]) -> [RawPath: String] {
        var sums: [RawPath: String] = [:]
        guard !packages.isEmpty else { return sums }
        if let (output, _) = runProgram(Self.dpkgQuery, ["--admindir=\(adminDirectory)", "-W", "-f", "${Conffiles}\n"]
                                        + packages.sorted()) {
            for line in output.split(separator: 0x0A) {
                // " /etc/modprobe.d/x.conf 0123...abcd [obsolete]"
                let words = line.split(separator: 0x20)
                if words.count >= 2, let asked = spellings[RawPath(bytes: Array(words[0]))] {
                    sums[asked] = String(decoding: words[1], as: UTF8.self)
                }
            }
        }
        for package in packages.sorted() {
            // "md5  path/without/leading/slash", dpkg's record of the package's other files.
            guard let (output, status) = runProgram(Self.dpkgQuery, ["--admindir=\(adminDirectory)", "--control-show", package, "md5sums"]),
                  status == 0 else { continue }
            for line in output.split(separator: 0x0A) {
                guard let space = line.firstIndex(of: 0x20), let start = line[space...].firstIndex(where: { $0 != 0x20 }) else { continue }
                if let asked = spellings[RawPath("/") + RawPath(bytes: Array(line[start...]))], sums[asked] == nil {
                    sums[asked] = String(decoding: line[..<space], as: UTF8.self)
                }
            }
        }
        return sums
    }

    // MARK: RPM

    private func rpmStates(of paths: [RawPath], links: Set<RawPath>) -> [RawPath: State] {
        var owners: [RawPath: String] = [:]
        for path in paths {
            // "NAME", or "file PATH is not owned by any package".
            guard let (output, status) = runProgram(Self.rpm, ["--root", root, "-qf", "--qf", "%{NAME}\n"].map { RawPath($0) } + [path]),
                  status == 0, let first = output.split(separator: 0x0A).first else { continue }
            owners[path] = String(decoding: first, as: UTF8.self)
        }
        // rpm -V prints one line per file that differs: flags (S size, 5 digest, M mode,
        // U user, G group, T time ...; `.` for the same; or `missing`), an attribute
        // marker (`c` for config files ...), then the path, which may hold spaces.
        var differences: [RawPath: String] = [:]
        for package in Set(owners.values).sorted() {
            guard let (output, _) = runProgram(Self.rpm, ["--root", root, "-V", package]) else { continue }
            for line in output.split(separator: 0x0A) {
                guard let flags = line.split(separator: 0x20).first, let path = line.firstRange(of: Array(" /".utf8)) else { continue }
                differences[RawPath(bytes: Array(line[(path.lowerBound + 1)...]))] = String(decoding: flags, as: UTF8.self)
            }
        }
        var result: [RawPath: State] = [:]
        for path in paths {
            guard let package = owners[path] else { result[path] = .unowned; continue }
            if links.contains(path) {
                result[path] = .owned(package: package, note: "a symbolic link: no checksum")
            } else if let flags = differences[path], flags == "missing" || flags.contains("5") || flags.contains("S") {
                result[path] = .modified(package: package, detail: "rpm -V: \(flags)")
            } else {
                result[path] = .matches(package: package)
            }
        }
        return result
    }
}
