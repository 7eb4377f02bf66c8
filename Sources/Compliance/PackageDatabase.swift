import Glibc

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
    static let dpkgQuery = "/usr/bin/dpkg-query"
    static let rpm = "/usr/bin/rpm"

    public init(root: String) {
        self.root = root
        prefix = root == "/" ? "" : root
        var status = stat()
        if stat(prefix + "/var/lib/dpkg/status", &status) == 0 && access(Self.dpkgQuery, X_OK) == 0 {
            kind = .dpkg
        } else if let (output, _) = runProgram(Self.rpm, ["--root", root, "-qa", "--qf", "%{NAME}\n"]), !output.isEmpty {
            kind = .rpm
        } else {
            kind = .none
        }
    }

    /// The state of each path (as the system sees it, not prefixed with the root); `links`
    /// are symbolic links, for which no content is compared.
    public func states(of paths: [String], links: Set<String> = []) -> [String: State] {
        switch kind {
        case .dpkg: dpkgStates(of: paths, links: links)
        case .rpm: rpmStates(of: paths, links: links)
        case .none: Dictionary(uniqueKeysWithValues: paths.map { ($0, .noDatabase) })
        }
    }

    // MARK: dpkg

    /// On a merged-/usr system dpkg may list `/lib/x` for `/usr/lib/x`: both spellings are
    /// asked.
    private func dpkgStates(of paths: [String], links: Set<String>) -> [String: State] {
        let adminDirectory = prefix + "/var/lib/dpkg"
        var spellings: [String: String] = [:]   // what dpkg may list -> the path asked
        for path in paths {
            spellings[path] = path
            for (merged, split) in [("/usr/lib/", "/lib/"), ("/usr/bin/", "/bin/"), ("/usr/sbin/", "/sbin/")] {
                if path.hasPrefix(merged) { spellings[split + path.dropFirst(merged.count)] = path }
                else if path.hasPrefix(split) { spellings[merged + path.dropFirst(split.count)] = path }
            }
        }
        var owners: [String: String] = [:]
        // `dpkg-query -S` takes glob patterns: a name with glob characters is asked as is.
        // Paths are display text (`DisplayText`): dpkg is asked, and answers, in bytes.
        if let (output, _) = runProgram(Self.dpkgQuery, [RawPath("--admindir=\(adminDirectory)"), RawPath("-S")]
                                        + spellings.keys.sorted().map(RawPath.init(displayText:))) {
            for line in output.split(separator: 0x0A) {
                // "pkg1, pkg2: /path" (diversions: "diversion by ...", skipped).
                guard let separator = line.firstRange(of: Array(": /".utf8)), !line.starts(with: "diversion ".utf8) else { continue }
                let listed = DisplayText.of(Array(line[(separator.lowerBound + 2)...]))
                guard let asked = spellings[listed] else { continue }
                owners[asked] = String(decoding: line[..<separator.lowerBound], as: UTF8.self).split(separator: ",").first.map { $0.trimmed(" ") }
            }
        }
        let sums = dpkgChecksums(of: Set(owners.values), adminDirectory: adminDirectory, spellings: spellings)
        var result: [String: State] = [:]
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
            guard let bytes = SmallFile.bytes(RawPath(prefix) + RawPath(displayText: path)) else {
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
    private func dpkgChecksums(of packages: Set<String>, adminDirectory: String, spellings: [String: String]) -> [String: String] {
        var sums: [String: String] = [:]
        guard !packages.isEmpty else { return sums }
        if let (output, _) = runProgram(Self.dpkgQuery, ["--admindir=\(adminDirectory)", "-W", "-f", "${Conffiles}\n"]
                                        + packages.sorted()) {
            for line in output.split(separator: 0x0A) {
                // " /etc/modprobe.d/x.conf 0123...abcd [obsolete]"
                let words = line.split(separator: 0x20)
                if words.count >= 2, let asked = spellings[DisplayText.of(Array(words[0]))] {
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
                let path = "/" + DisplayText.of(Array(line[start...]))
                if let asked = spellings[path], sums[asked] == nil { sums[asked] = String(decoding: line[..<space], as: UTF8.self) }
            }
        }
        return sums
    }

    // MARK: RPM

    private func rpmStates(of paths: [String], links: Set<String>) -> [String: State] {
        var owners: [String: String] = [:]
        for path in paths {
            // "NAME", or "file PATH is not owned by any package".
            guard let (output, status) = runProgram(Self.rpm, ["--root", root, "-qf", "--qf", "%{NAME}\n"].map { RawPath($0) }
                                                                  + [RawPath(displayText: path)]), status == 0,
                  let first = String(decoding: output, as: UTF8.self).split(separator: "\n").first else { continue }
            owners[path] = String(first)
        }
        // rpm -V prints one line per file that differs: flags (S size, 5 digest, M mode,
        // U user, G group, T time ...; `.` for the same), a `c` for config files, the path.
        var differences: [String: String] = [:]
        for package in Set(owners.values).sorted() {
            guard let (output, _) = runProgram(Self.rpm, ["--root", root, "-V", package]) else { continue }
            for line in output.split(separator: 0x0A) {
                let words = line.split(separator: 0x20)
                guard let flags = words.first, let path = words.last, path.first == UInt8(ascii: "/") else { continue }
                differences[DisplayText.of(Array(path))] = String(decoding: flags, as: UTF8.self)
            }
        }
        var result: [String: State] = [:]
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

extension StringProtocol {
    /// Without leading and trailing `characters`.
    public func trimmed(_ characters: String = " \t") -> String {
        var text = Substring(self)
        while let first = text.first, characters.contains(first) { text.removeFirst() }
        while let last = text.last, characters.contains(last) { text.removeLast() }
        return String(text)
    }
}
