import AuditReading
import Glibc

/// One name in a place, as the file system showed it when the baseline was taken: what
/// a later scan compares with to tell what changed while the detector could not see.
public struct PlaceEntry: Equatable, Sendable {
    public enum Kind: String, Sendable {
        case file, directory, link, other
    }

    /// What is known of the entry's content.
    public enum Content: Equatable, Sendable {
        /// SHA-256 of a regular file's bytes, or of a symbolic link's target text.
        case digest([UInt8])
        /// A regular file above `PlaceScanner.maximumHashedSize`: compared by size and times.
        case tooLarge
        /// It could not be read (the `errno`), or it is a mount point (another file
        /// system's root, which is never read: it may be one that makes readers wait).
        case unreadable(Int32)
        case mountPoint
        /// A directory or a special file: no content.
        case none
    }

    public var kind: Kind
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    /// `st_mode`: type and permission bits.
    public var mode: UInt32
    public var owner: UInt32
    public var group: UInt32
    public var modified: Time
    public var changed: Time
    public var content: Content

    /// A file time (`st_mtim`, `st_ctim`).
    public struct Time: Equatable, Comparable, Sendable {
        public var seconds: Int64
        public var nanoseconds: Int64

        public init(seconds: Int64, nanoseconds: Int64) {
            self.seconds = seconds
            self.nanoseconds = nanoseconds
        }

        init(_ time: timespec) { self.init(seconds: Int64(time.tv_sec), nanoseconds: Int64(time.tv_nsec)) }

        public static func < (lhs: Time, rhs: Time) -> Bool {
            (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
        }
    }

    public init(kind: Kind, device: UInt64, inode: UInt64, size: Int64, mode: UInt32, owner: UInt32, group: UInt32,
                modified: Time, changed: Time, content: Content) {
        self.kind = kind
        self.device = device
        self.inode = inode
        self.size = size
        self.mode = mode
        self.owner = owner
        self.group = group
        self.modified = modified
        self.changed = changed
        self.content = content
    }

    /// The entry `status` (from `lstat`) describes, its content not yet read.
    init(_ status: stat) {
        let kind: Kind = switch status.st_mode & S_IFMT {
        case S_IFREG: .file
        case S_IFDIR: .directory
        case S_IFLNK: .link
        default: .other
        }
        self.init(kind: kind, device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: Int64(status.st_size),
                  mode: status.st_mode, owner: status.st_uid, group: status.st_gid,
                  modified: Time(status.st_mtim), changed: Time(status.st_ctim), content: .none)
    }

    /// The content digest (32 bytes), when there is one.
    public var digest: [UInt8]? {
        guard case .digest(let bytes) = content else { return nil }
        return bytes
    }

    /// The content digest as 64 lowercase hex digits, when there is one.
    public var digestText: String? { digest.map { String(hexOf: $0) } }

    /// Whether what modprobe or systemd-modules-load would read from it may differ:
    /// another kind, or other content (a file too large to hash: another size or
    /// modification time). A changed time alone, with the same digest, is no change.
    func contentDiffers(from other: PlaceEntry) -> Bool {
        if kind != other.kind { return true }
        switch (content, other.content) {
        case (.digest(let mine), .digest(let theirs)): return mine != theirs
        case (.none, .none): return false
        default: return size != other.size || modified != other.modified || inode != other.inode || content != other.content
        }
    }

    /// Whether who may read or change it differs: permission bits or owner.
    func attributesDiffer(from other: PlaceEntry) -> Bool {
        mode != other.mode || owner != other.owner || group != other.group
    }
}
