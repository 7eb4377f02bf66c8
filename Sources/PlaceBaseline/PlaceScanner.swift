import FileEvents
import Glibc
import HostFiles

/// Reads the places as they stand: each place the rule covers (a directory's own entry
/// and every name in it, or a single file such as /etc/modules), nothing deeper, since
/// neither modprobe nor systemd-modules-load reads below a place. Bounded: at most
/// `maximumEntries` names, and a file's content hashed only up to `maximumHashedSize`.
public struct PlaceScanner: Sendable {
    /// One place: a directory, or a file named by the rule.
    public struct Place: Hashable, Sendable {
        public var path: RawPath
        public var isDirectory: Bool

        public init(path: RawPath, isDirectory: Bool) {
            self.path = path
            self.isDirectory = isDirectory
        }
    }

    /// Names recorded at most, over all places: far beyond a real host (Debian 12 ships
    /// about 20), and about 4 MiB of baseline file.
    public static let maximumEntries = 16_384
    /// Files above this size are recorded by size and times, not content: a module
    /// configuration file is a few hundred bytes.
    public static let maximumHashedSize = 1 << 20

    public let places: [Place]

    public init(places: [Place]) { self.places = places }

    /// The places now, stamped with `time` (seconds since the epoch).
    public func scan(at time: Int) -> Baseline {
        var baseline = Baseline(recorded: time, entries: [:], complete: true)
        for place in places {
            guard let status = try? place.path.status(followingLinks: place.isDirectory) else { continue }
            guard admit(&baseline) else { break }
            baseline.entries[place.path] = Self.entry(place.path, status)
            guard place.isDirectory, status.st_mode & S_IFMT == S_IFDIR else { continue }
            try? SmallFile.forEachEntry(in: place.path) { name, _ in
                guard admit(&baseline) else { return false }
                let path = place.path.appending(name)
                guard let entryStatus = try? path.status() else { return true }
                baseline.entries[path] = entryStatus.st_dev == status.st_dev
                    ? Self.entry(path, entryStatus) : Self.mountPoint(entryStatus)
                return true
            }
        }
        return baseline
    }

    /// The places of a rule's locations (directories, or files such as `/etc/modules`),
    /// canonical under `usrMerge`, each once.
    public static func places(_ locations: [(path: RawPath, isDirectory: Bool)], usrMerge: UsrMerge) -> [Place] {
        var seen = Set<RawPath>()
        return locations.compactMap { location in
            let path = PathResolver.canonical(absolute: location.path, usrMerge: usrMerge)
            return seen.insert(path).inserted ? Place(path: path, isDirectory: location.isDirectory) : nil
        }
    }

    /// The entry at `path` now (a name the stream just changed); nil when it is gone.
    public static func entry(at path: RawPath) -> PlaceEntry? {
        guard let status = try? path.status() else { return nil }
        let parent = try? path.directory.status(followingLinks: true)
        if let parent, parent.st_dev != status.st_dev { return mountPoint(status) }
        return entry(path, status)
    }

    private func admit(_ baseline: inout Baseline) -> Bool {
        guard baseline.entries.count < Self.maximumEntries else {
            baseline.complete = false
            return false
        }
        return true
    }

    private static func mountPoint(_ status: stat) -> PlaceEntry {
        var entry = PlaceEntry(status)
        entry.content = .mountPoint
        return entry
    }

    /// The entry `status` describes, with its content: a regular file's bytes or a
    /// link's target, hashed.
    private static func entry(_ path: RawPath, _ status: stat) -> PlaceEntry {
        var entry = PlaceEntry(status)
        switch entry.kind {
        case .file:
            do {
                entry.content = .digest(SHA256.digest(try SmallFile.contents(path, limit: maximumHashedSize)))
            } catch .largerThan {
                entry.content = .tooLarge
            } catch .failed(let code) {
                entry.content = .unreadable(code)
            } catch {
                entry.content = .unreadable(EINVAL)
            }
        case .link:
            entry.content = SmallFile.linkTarget(path).map { .digest(SHA256.digest($0.bytes)) } ?? .unreadable(errno)
        case .directory, .other:
            break
        }
        return entry
    }
}
