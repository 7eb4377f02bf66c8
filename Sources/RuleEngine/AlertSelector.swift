import AuditReading
import FileEvents

/// Chooses which events libauparse parses when only alerts are wanted.
///
/// It is `FileEventNormalizer.disposition`, plus one more reason to skip: a file event
/// whose PATH names are all absolute and all outside every place the rule requires
/// `file.path` to be in cannot alert, so it is counted and not parsed. Names are compared
/// as the path resolver will resolve them (`.`, `..` and `//` removed, merged `/usr`)
/// and without ASCII case, so the test only ever errs towards parsing. A relative,
/// `(null)` or unreadable name is parsed. So is a name in the directory of a file the
/// rule names (`/etc` for `/etc/modules`), or a place itself (`mkdir /run/modules-load.d`,
/// a rename of `/etc/modprobe.d`): such events teach the resolver that directory's inode,
/// which a later creation relative to a directory descriptor needs. So is every event
/// logged for one of the detector's own watch keys: the kernel matched it by a place's
/// inode, whatever name was used (a bind mount, a chroot).
public struct AlertSelector: Sendable {
    private let usrMerge: UsrMerge
    /// Lower-case: the rule's directories with a trailing `/` (anything below counts), and
    /// the directories of the files it names (only entries directly in them count).
    private let trees: [[UInt8]]
    private let directories: [[UInt8]]
    /// The detector's watch keys as logged (`"audisp-lkm"`): an event logged for one of
    /// its own watches touched a place, whatever its names say (a bind mount, a chroot).
    private let watchKeys: [[UInt8]]

    /// Nil when the rule does not require `file.path` to match some patterns (then no
    /// event can be ruled out by its names).
    public init?(rule: DetectionRule, usrMerge: UsrMerge, watchKeys: [String] = []) {
        guard let locations = rule.requiredLocations, !locations.isEmpty else { return nil }
        self.usrMerge = usrMerge
        self.watchKeys = watchKeys.map { Array("\"\($0)\"".utf8) }
        let lowered = { (path: [UInt8]) in path.map(WildcardPattern.fold) }
        trees = locations.filter { $0.isDirectory }.map { location in
            lowered(PathResolver.canonical(absolute: Array(location.path.utf8), usrMerge: usrMerge) + [UInt8(ascii: "/")])
        }
        directories = locations.filter { !$0.isDirectory }.map { location in
            lowered(PathResolver.directory(of: PathResolver.canonical(absolute: Array(location.path.utf8), usrMerge: usrMerge)))
        }
    }

    public func disposition(_ summary: EventSummary) -> EventDisposition {
        let disposition = FileEventNormalizer.disposition(summary)
        guard disposition == .parse, !summary.hasUnreadableName, !summary.pathNames.isEmpty else { return disposition }
        if let key = summary.key, watchKeys.contains(key) { return .parse }
        for logged in summary.pathNames {
            guard let canonical = PathResolver.canonicalPath(logged: logged, usrMerge: usrMerge) else { return .parse }
            let path = canonical.map(WildcardPattern.fold)
            if trees.contains(where: { path.starts(with: $0) || path.count + 1 == $0.count && $0.starts(with: path) })
                || directories.contains(path)
                || directories.contains(PathResolver.directory(of: path)) {
                return .parse
            }
        }
        return .skip
    }
}
