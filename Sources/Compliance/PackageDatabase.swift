import Glibc

/// Which package owns a file and whether the file still has the package's content, from
/// dpkg's database under a root (`dpkg-query --admindir=ROOT/var/lib/dpkg`, so a mounted
/// image is read with its own database). Checksums are dpkg's own: `info/PKG.md5sums` for
/// packaged files, the `Conffiles` field for configuration files (most of what ships in
/// /etc/modprobe.d). RPM systems are not read yet: every file is then "no package
/// database".
public struct PackageDatabase: Sendable {
    /// What the database says about one file.
    public enum State: Sendable, Equatable {
        /// Owned by a package, with the package's content.
        case matches(package: String)
        /// Owned by a package, and changed since it was installed.
        case modified(package: String, expected: String, actual: String)
        /// Owned by a package that records no checksum for it (or it cannot be read).
        case owned(package: String, note: String)
        /// No package owns it: someone put it there.
        case unowned
        /// This root has no dpkg database to ask.
        case noDatabase
        /// A directory or device: packages own files and links.
        case notPackaged

        public var package: String? {
            switch self {
            case .matches(let package), .modified(let package, _, _), .owned(let package, _): package
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

    public let root: String
    private let adminDirectory: String
    public let isAvailable: Bool

    public init(root: String) {
        self.root = root
        adminDirectory = (root == "/" ? "" : root) + "/var/lib/dpkg"
        var status = stat()
        isAvailable = stat(adminDirectory + "/status", &status) == 0 && access("/usr/bin/dpkg-query", X_OK) == 0
    }

    /// The state of each path (as the system sees it, not prefixed with the root); `links`
    /// are symbolic links, which dpkg records without a checksum. On a merged-/usr system
    /// dpkg may list `/lib/x` for `/usr/lib/x`: both spellings are asked.
    public func states(of paths: [String], links: Set<String> = []) -> [String: State] {
        guard isAvailable else { return Dictionary(uniqueKeysWithValues: paths.map { ($0, .noDatabase) }) }
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
        if let (output, _) = runProgram("/usr/bin/dpkg-query", ["--admindir=\(adminDirectory)", "-S"] + spellings.keys.sorted()) {
            for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
                // "pkg1, pkg2: /path" (diversions: "diversion by ...", skipped).
                guard let separator = line.firstRange(of: ": /"), !line.hasPrefix("diversion ") else { continue }
                let listed = String(line[line.index(after: separator.lowerBound)...]).trimmed(" ")
                guard let asked = spellings[listed] else { continue }
                owners[asked] = line[..<separator.lowerBound].split(separator: ",").first.map {
                    String($0).trimmed(" ")
                }
            }
        }
        let sums = checksums(of: Set(owners.values), spellings: spellings)
        var result: [String: State] = [:]
        for path in paths {
            guard let package = owners[path] else { result[path] = .unowned; continue }
            if links.contains(path) {
                result[path] = .owned(package: package, note: "a symbolic link: dpkg keeps no checksum")
                continue
            }
            guard let expected = sums[path] else {
                result[path] = .owned(package: package, note: "the package records no checksum for it")
                continue
            }
            guard let bytes = SmallFile.bytes((root == "/" ? "" : root) + path) else {
                result[path] = .owned(package: package, note: "cannot be read to compare")
                continue
            }
            let actual = MD5.hex(bytes)
            result[path] = actual == expected ? .matches(package: package) : .modified(package: package, expected: expected, actual: actual)
        }
        return result
    }

    /// The checksums `packages` record, keyed by the path asked: conffiles from the
    /// status database, other files from `info/PKG[:ARCH].md5sums`.
    private func checksums(of packages: Set<String>, spellings: [String: String]) -> [String: String] {
        var sums: [String: String] = [:]
        guard !packages.isEmpty else { return sums }
        if let (output, _) = runProgram("/usr/bin/dpkg-query", ["--admindir=\(adminDirectory)", "-W", "-f", "${Conffiles}\n"]
                                        + packages.sorted()) {
            for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
                // " /etc/modprobe.d/x.conf 0123...abcd [obsolete]"
                let words = line.split(separator: " ")
                if words.count >= 2, let asked = spellings[String(words[0])] { sums[asked] = String(words[1]) }
            }
        }
        let info = adminDirectory + "/info"
        let listing = SmallFile.names(in: info)
        for package in packages {
            for name in listing where name == package + ".md5sums" || name.hasPrefix(package + ":") && name.hasSuffix(".md5sums") {
                guard let lines = ModprobeConfiguration.lines(of: info + "/" + name) else { continue }
                for (_, line) in lines {
                    // "md5  path/without/leading/slash"
                    guard let space = line.firstIndex(of: " ") else { continue }
                    let path = "/" + line[space...].trimmed(" ")
                    if let asked = spellings[path], sums[asked] == nil { sums[asked] = String(line[..<space]) }
                }
            }
        }
        return sums
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
