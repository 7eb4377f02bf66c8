import HostFiles
/// The places as last known: every name in them with its identity, attributes and
/// content digest. The event stream keeps it current (each change the detector sees is
/// read again from the disk), so a scan that differs from it shows what happened while
/// the detector could not see.
public struct Baseline: Equatable, Sendable {
    /// When it was last known to be the truth (seconds since the epoch): the start of any
    /// blind window found against it.
    public var recorded: Int
    /// By full path.
    public var entries: [RawPath: PlaceEntry]
    /// False when the scan stopped at `PlaceScanner.maximumEntries`: names beyond were not
    /// recorded, and their changes cannot be named.
    public var complete: Bool

    public init(recorded: Int, entries: [RawPath: PlaceEntry], complete: Bool) {
        self.recorded = recorded
        self.entries = entries
        self.complete = complete
    }

    /// What differs from `earlier` to this one, in path order: names made, changed,
    /// removed, moved (the same file under a new name) or whose attributes changed.
    public func changes(since earlier: Baseline) -> [BaselineChange] {
        var found: [BaselineChange] = []
        let made = entries.keys.filter { earlier.entries[$0] == nil }
        var gone = Set(earlier.entries.keys.filter { entries[$0] == nil })
        // A name gone whose file (device and inode) is now under a name made: a rename.
        var goneByFile: [FileIdentity: RawPath] = [:]
        for path in gone { goneByFile[FileIdentity(earlier.entries[path]!)] = path }
        for path in made {
            let after = entries[path]!
            if let original = goneByFile.removeValue(forKey: FileIdentity(after)) {
                gone.remove(original)
                found.append(BaselineChange(action: .rename, path: path, originalPath: original,
                                            before: earlier.entries[original], after: after))
            } else {
                found.append(BaselineChange(action: .creation, path: path, before: nil, after: after))
            }
        }
        for path in gone {
            found.append(BaselineChange(action: .deletion, path: path, before: earlier.entries[path], after: nil))
        }
        for (path, after) in entries {
            guard let before = earlier.entries[path] else { continue }
            if after.contentDiffers(from: before) {
                found.append(BaselineChange(action: .modification, path: path, before: before, after: after))
            } else if after.attributesDiffer(from: before) {
                found.append(BaselineChange(action: .attributes, path: path, before: before, after: after))
            }
        }
        return found.sorted { $0.path < $1.path }
    }

    /// The entry at `path` as it is now (nil: gone), the stream having changed it.
    public mutating func refresh(_ path: RawPath, to entry: PlaceEntry?) {
        entries[path] = entry
    }

    private struct FileIdentity: Hashable {
        var device: UInt64
        var inode: UInt64
        var kind: PlaceEntry.Kind

        init(_ entry: PlaceEntry) { (device, inode, kind) = (entry.device, entry.inode, entry.kind) }
    }
}

/// One difference between two baselines.
public struct BaselineChange: Equatable, Sendable {
    /// `event.action` of the alert.
    public enum Action: String, Sendable {
        case creation, modification, deletion, rename, attributes
    }

    public var action: Action
    public var path: RawPath
    /// A rename's earlier name.
    public var originalPath: RawPath?
    public var before: PlaceEntry?
    public var after: PlaceEntry?

    public init(action: Action, path: RawPath, originalPath: RawPath? = nil, before: PlaceEntry?, after: PlaceEntry?) {
        self.action = action
        self.path = path
        self.originalPath = originalPath
        self.before = before
        self.after = after
    }
}
