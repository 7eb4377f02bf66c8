import Glibc
import HostFiles
import RuleEngine

/// The kernel-module configuration as it stands under a root: every entry of every place
/// the rule covers, with its owner, mode, times and package; the directives in effect;
/// kmod's own view beside ours; and a profile's verdicts. Read-only.
public struct Inventory: Sendable {
    /// One directory entry (or `/etc/modules`).
    public struct Entry: Sendable {
        public var path: String
        /// `file`, `link`, `directory`, `other`.
        public var kind: String
        public var linkTarget: String?
        public var uid: UInt32
        public var gid: UInt32
        public var owner: String
        public var group: String
        public var mode: UInt32
        public var size: Int64
        public var modified: Double
        public var changed: Double
        public var package: PackageDatabase.State
        /// Read by kmod or systemd (see `ModprobeConfiguration`); nil when neither reads
        /// it (directories, other places).
        public var isRead: Bool?
        public var unreadReason: String?
        /// For a file kmod or systemd reads: why it could not be read here.
        public var readProblem: String?
    }

    /// `modprobe --showconfig` against the directives read here.
    public enum KmodComparison: Sendable {
        case agrees(directives: Int)
        case differs([String])
        case unavailable(String)
    }

    public var root: String
    public var hostName: String
    public var taken: Double
    public var places: [String]
    public var entries: [Entry]
    public var configuration: ModprobeConfiguration
    public var kmod: KmodComparison
    public var profile: ComplianceProfile?
    public var verdicts: [ComplianceProfile.Verdict]
    /// `dpkg`, `rpm` or `none`.
    public var packageDatabase: String

    /// Takes the inventory of `root` for the places of `locations` and every directory kmod
    /// and systemd read (the `/lib` spellings are listed when they are directories of
    /// their own).
    public static func take(root: String, locations: [RuleLocation], profile: ComplianceProfile?) -> Inventory {
        let prefix = root == "/" ? "" : root
        var places = locations.map(\.path)
        for extra in ModprobeConfiguration.modprobeDirectories + ModprobeConfiguration.modulesLoadDirectories
            + [ModprobeConfiguration.debianModules] where !places.contains(RawPath(extra)) {
            places.append(RawPath(extra))
        }
        let users = NameTable(path: RawPath("/etc/passwd").inRoot(RawPath(prefix), followingLast: true))
        let groups = NameTable(path: RawPath("/etc/group").inRoot(RawPath(prefix), followingLast: true))
        let (configuration, kmod) = root == "/"
            ? readBeside(load: { ModprobeConfiguration.load(root: "/") }, compare: compareWithKmod)
            : (ModprobeConfiguration.load(root: root), .unavailable("--root given: kmod reads this system"))
        // Keyed by bytes: two names that differ only in their bytes are two files.
        let readState = Dictionary(configuration.files.map { (RawPath(displayText: $0.path), $0) }, uniquingKeysWith: { first, _ in first })
        var seen = Set<RawPath>()
        // (path, status, link target), as the system names them; asked of the root's own
        // tree, its links followed inside it (`RawPath.inRoot`).
        var found: [(path: RawPath, status: stat, target: RawPath?)] = []
        var listed: [String] = []
        for path in places {
            guard let system = path.inRoot(RawPath(prefix), followingLast: false),
                  let followed = path.inRoot(RawPath(prefix), followingLast: true) else {
                listed.append(path.text + " (cannot be examined here: more than \(RawPath.maximumLinks) links)")
                continue
            }
            // /lib/modprobe.d on a merged-/usr system is /usr/lib/modprobe.d: once.
            if let real = prefix.isEmpty ? SmallFile.realPath(system) : followed, !seen.insert(real).inserted { continue }
            let status: stat
            do { status = try system.status() } catch {
                listed.append(path.text + (error.isAbsence ? " (missing)" : " (cannot be examined here: \(error))"))
                continue
            }
            guard status.st_mode & S_IFMT == S_IFDIR else {
                listed.append(path.text)
                found.append((path, status, SmallFile.linkTarget(system)))
                continue
            }
            let names: [RawPath]
            do { names = try SmallFile.listing(of: followed) } catch {
                listed.append(path.text + " (cannot be listed here: \(error))")
                continue
            }
            listed.append(path.text)
            for name in names {
                let entry = path + RawPath("/") + name, systemEntry = followed + RawPath("/") + name
                // An entry gone meanwhile is listed all the same, with a zero status:
                // never silently left out.
                found.append((entry, (try? systemEntry.status()) ?? stat(), SmallFile.linkTarget(systemEntry)))
            }
        }
        let packaged = found.filter { $0.status.st_mode & S_IFMT == S_IFREG || $0.status.st_mode & S_IFMT == S_IFLNK }
        let database = PackageDatabase(root: root)
        let packages = database.states(of: packaged.map(\.path), links: Set(packaged.filter { $0.status.st_mode & S_IFMT == S_IFLNK }.map(\.path)))
        let entries = found.map { path, status, target in
            let format = status.st_mode & S_IFMT
            return Entry(path: path.text,
                         kind: format == S_IFREG ? "file" : format == S_IFLNK ? "link" : format == S_IFDIR ? "directory"
                             : format == 0 ? "unreadable" : "other",
                         linkTarget: target?.text, uid: status.st_uid, gid: status.st_gid,
                         owner: users.name(status.st_uid), group: groups.name(status.st_gid),
                         mode: status.st_mode & 0o7777, size: Int64(status.st_size),
                         modified: Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9,
                         changed: Double(status.st_ctim.tv_sec) + Double(status.st_ctim.tv_nsec) / 1e9,
                         package: packages[path] ?? .notPackaged,
                         isRead: readState[path]?.isRead, unreadReason: readState[path]?.unreadReason,
                         readProblem: readState[path]?.readProblem)
        }
        return Inventory(root: root, hostName: root == "/" ? LocalHost.name : root,
                         taken: Double(time(nil)), places: listed, entries: entries, configuration: configuration,
                         kmod: kmod,
                         profile: profile, verdicts: profile?.evaluate(configuration) ?? [], packageDatabase: database.kind.rawValue)
    }

    /// The configuration and kmod's reading of it, taken so that a file written meanwhile
    /// cannot show as a difference that is not one: the configuration is read before and
    /// after kmod reads it, and the pair taken again (three times at most) until both
    /// readings have the same directives.
    static func readBeside(load: () -> ModprobeConfiguration,
                           compare: (ModprobeConfiguration) -> KmodComparison) -> (ModprobeConfiguration, KmodComparison) {
        var before = load()
        for _ in 0 ..< 3 {
            let kmod = compare(before)
            let after = load()
            if after.directives == before.directives { return (after, kmod) }
            before = after
        }
        return (before, .unavailable("the configuration kept changing while kmod read it"))
    }

    /// kmod's own reading (`modprobe --showconfig`, up to its index dump) against ours:
    /// the same `install`, `remove`, `blacklist` and `options` directives, in order.
    static func compareWithKmod(_ configuration: ModprobeConfiguration) -> KmodComparison {
        let candidates: [String] = ["/usr/sbin/modprobe", "/sbin/modprobe", "/usr/bin/modprobe"]
        let modprobe = candidates.first { RawPath($0).isAccessible(X_OK) }
        guard let modprobe, let (output, status) = runProgram(modprobe, ["--showconfig"]), status == 0 else {
            return .unavailable("modprobe (kmod) is not installed or --showconfig failed")
        }
        let compared: Set<String> = ["install", "remove", "blacklist", "options"]
        var theirs: [String] = []
        // "COMMAND MODULE REST", one space each, as bytes; shown as ours are (display text).
        for line in output.split(separator: 0x0A).map(Array.init) {
            if line.starts(with: "# End of configuration files".utf8) { break }
            var index = 0
            guard let command = ModprobeConfiguration.token(line, &index).map({ String(decoding: $0, as: UTF8.self) }),
                  compared.contains(command), let module = ModprobeConfiguration.token(line, &index) else { continue }
            let rest = index < line.count ? [DisplayText.of(Array(line[index...]))] : []
            theirs.append(([command, DisplayText.of(module)] + rest).joined(separator: " "))
        }
        let ours = configuration.directives.filter { compared.contains($0.command) }.map {
            ([$0.command, $0.module] + ($0.arguments.isEmpty ? [] : [$0.arguments])).joined(separator: " ")
        }
        // kmod prints options per module, joined; compare as multisets of lines otherwise.
        let missing = Set(ours).subtracting(theirs).filter { !$0.hasPrefix("options ") }.sorted().map { "read here, not by kmod: \($0)" }
        let extra = Set(theirs).subtracting(ours).filter { !$0.hasPrefix("options ") }.sorted().map { "read by kmod, not here: \($0)" }
        return missing.isEmpty && extra.isEmpty ? .agrees(directives: theirs.count) : .differs(missing + extra)
    }
}

/// `name:x:id:...` lines of /etc/passwd or /etc/group under a root: names by number.
struct NameTable {
    private var names: [UInt32: String] = [:]

    init(path: RawPath?) {
        let text = path.flatMap { try? SmallFile.contents($0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            if fields.count > 2, let id = UInt32(fields[2]), names[id] == nil { names[id] = String(fields[0]) }
        }
    }

    func name(_ id: UInt32) -> String { names[id] ?? String(id) }
}
