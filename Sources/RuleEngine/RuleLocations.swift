import FileEvents
import HostFiles

/// The places on disk a rule can alert about, read from its `file.path` clauses: what
/// the kernel must watch for the rule to see anything (the plugin's start-up check).
public struct RuleLocation: Hashable, Sendable, CustomStringConvertible {
    /// The directory whose entries the rule matches, or the file it names exactly.
    public var path: RawPath
    /// True for a directory (`"/etc/modprobe.d/*"`), false for a file (`"/etc/modules"`).
    public var isDirectory: Bool

    public init(path: RawPath, isDirectory: Bool) {
        self.path = path
        self.isDirectory = isDirectory
    }

    /// The place as the rule writes it (its text).
    public var description: String { path.lossyText + (isDirectory ? "/" : "") }

    /// The path canonical: `.`, `..` and `//` removed, merged `/usr`.
    public func canonicalPath(usrMerge: UsrMerge) -> RawPath { PathResolver.canonical(absolute: path, usrMerge: usrMerge) }

    /// The location a `file.path` pattern covers: its text before the first wildcard, cut
    /// back to a whole directory when a wildcard follows. Nil for a pattern that does not
    /// start with an absolute directory.
    init?(pattern: String) {
        guard let wildcard = pattern.firstIndex(where: { $0 == "*" || $0 == "?" }) else {
            guard pattern.hasPrefix("/") else { return nil }
            self.init(path: RawPath(pattern), isDirectory: false)
            return
        }
        let literal = pattern[..<wildcard]
        guard let slash = literal.lastIndex(of: "/") else { return nil }
        let directory = slash == literal.startIndex ? "/" : String(literal[..<slash])
        self.init(path: RawPath(directory), isDirectory: true)
    }
}

extension DetectionRule {
    /// The locations of a `file.path` clause every alert must satisfy (a conjunct at the
    /// top of the query); nil when there is none.
    public var requiredLocations: [RuleLocation]? {
        let conjuncts: [Condition]
        if case .all(let all) = condition { conjuncts = all } else { conjuncts = [condition] }
        for conjunct in conjuncts {
            switch conjunct {
            case .like(.filePath, let patterns, _):
                let locations = patterns.map { RuleLocation(pattern: $0.text) }
                // A pattern with no absolute directory ("*.conf") could match anywhere.
                return locations.contains(nil) ? nil : locations.compactMap { $0 }
            case .equals(.filePath, let values, _):
                let locations = values.map { RuleLocation(pattern: String(decoding: $0, as: UTF8.self)) }
                return locations.contains(nil) ? nil : locations.compactMap { $0 }
            default:
                continue
            }
        }
        return nil
    }

    /// The directories whose entries the rule can alert about: its directories and those
    /// of the files it names, canonical (merged `/usr`), in the order written.
    public func placeDirectories(usrMerge: UsrMerge) -> [RawPath] {
        var seen = Set<RawPath>()
        return locations.map { location in
            let path = location.canonicalPath(usrMerge: usrMerge)
            return location.isDirectory ? path : path.directory
        }.filter { seen.insert($0).inserted }
    }

    /// Every location the rule's `file.path` clauses can match, in the order written.
    /// Clauses under `not` exclude places rather than include them, so they are skipped.
    public var locations: [RuleLocation] {
        var found: [RuleLocation] = []
        func collect(_ condition: Condition) {
            switch condition {
            case .all(let conditions), .any(let conditions): conditions.forEach(collect)
            case .not, .present: break
            case .like(.filePath, let patterns, _):
                found += patterns.compactMap { RuleLocation(pattern: $0.text) }
            case .equals(.filePath, let values, _):
                found += values.compactMap { RuleLocation(pattern: String(decoding: $0, as: UTF8.self)) }
            case .like, .equals: break
            }
        }
        collect(condition)
        var seen = Set<RuleLocation>()
        return found.filter { seen.insert($0).inserted }
    }
}
