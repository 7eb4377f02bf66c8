import AuditReading
import Glibc
import HostFiles

/// The baseline on disk, in a root-only state directory, so that it survives a restart
/// of the plugin or of the host: written whole to a temporary file, flushed, and renamed
/// over the old one, so that a crash leaves the old or the new, never half of one.
///
/// Format, one line each (names as hex, so any byte may be in them):
///
///     audisp-lkm baseline 1
///     recorded SECONDS complete|incomplete
///     HEXPATH KIND DEVICE INODE SIZE MODE UID GID MTIME.NS CTIME.NS CONTENT
///
/// `CONTENT`: `sha256:HEX`, `too-large`, `mount-point`, `unreadable:ERRNO` or `-`.
public struct BaselineStore: Sendable {
    public let directory: String
    public var path: String { directory + "/baseline" }

    public init(directory: String) { self.directory = directory }

    /// Why the stored baseline cannot be used.
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Creates the state directory (0700) if it is missing; says why it cannot be used
    /// when it is not a directory owned by root that only root can write.
    public func prepare() throws(Problem) {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw Problem("\(directory): \(String(cString: strerror(errno)))")
        }
        let status: stat
        do { status = try RawPath(directory).status() } catch { throw Problem("\(directory): \(error)") }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw Problem("\(directory) is not a directory") }
        if let fault = RawPath.ownershipFault(status) { throw Problem("\(directory) \(fault)") }
    }


    /// The places now against the stored baseline, as the plugin's next scan would see
    /// them, without changing anything: what changed that no record has explained yet, and
    /// the scan's own cost in seconds.
    public func pendingChanges(places: [PlaceScanner.Place]) throws(Problem)
        -> (stored: Baseline?, now: Baseline, changes: [UnwatchedChange], scanSeconds: Double) {
        let stored = try load()
        let started = MonotonicClock.seconds()
        let now = PlaceScanner(places: places).scan(at: Int(Glibc.time(nil)))
        let scanSeconds = MonotonicClock.seconds() - started
        guard let stored else { return (nil, now, [], scanSeconds) }
        let window = BlindWindow(cause: .unexplained, start: Double(stored.recorded), end: Double(now.recorded))
        let changes = now.changes(since: stored).map { UnwatchedChange(change: $0, windows: [window], found: Double(now.recorded)) }
        return (stored, now, changes, scanSeconds)
    }

    /// The stored baseline; nil when there is none yet.
    public func load() throws(Problem) -> Baseline? {
        let bytes: [UInt8]
        do { bytes = try SmallFile.contents(RawPath(path), limit: 64 << 20) } catch {
            if error.isAbsence { return nil }
            throw Problem("\(path): \(error)")
        }
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: true).makeIterator()
        guard let magic = lines.next(), Array(magic) == Array("audisp-lkm baseline 1".utf8) else {
            throw Problem("\(path): not a baseline of this version")
        }
        let header = lines.next().map { $0.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) } } ?? []
        guard header.count == 3, header[0] == "recorded", let recorded = Int(header[1]),
              header[2] == "complete" || header[2] == "incomplete" else { throw Problem("\(path): bad header") }
        var baseline = Baseline(recorded: recorded, entries: [:], complete: header[2] == "complete")
        var number = 2
        while let line = lines.next() {
            number += 1
            guard let (path, entry) = Self.entry(line) else { throw Problem("\(path): line \(number) is malformed") }
            baseline.entries[path] = entry
        }
        return baseline
    }

    /// Writes `baseline` atomically (mode 0600).
    public func save(_ baseline: Baseline) throws(Problem) {
        var text = Array("audisp-lkm baseline 1\nrecorded \(baseline.recorded) \(baseline.complete ? "complete" : "incomplete")\n".utf8)
        for path in baseline.entries.keys.sorted() {
            Self.append(path, baseline.entries[path]!, to: &text)
        }
        let temporary = path + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Problem("\(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < text.count {
            let count = text[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw Problem("\(temporary): \(reason)")
            }
            written += count
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard synced, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw Problem("\(path): \(reason)")
        }
    }

    private static func append(_ path: RawPath, _ entry: PlaceEntry, to text: inout [UInt8]) {
        let content: String = switch entry.content {
        case .digest: "sha256:" + entry.digestText!
        case .tooLarge: "too-large"
        case .mountPoint: "mount-point"
        case .unreadable(let code): "unreadable:\(code)"
        case .none: "-"
        }
        text += Array(hex(path.bytes).utf8)
        text += Array((" \(entry.kind.rawValue) \(entry.device) \(entry.inode) \(entry.size) \(String(entry.mode, radix: 8)) "
                       + "\(entry.owner) \(entry.group) \(entry.modified.seconds).\(entry.modified.nanoseconds) "
                       + "\(entry.changed.seconds).\(entry.changed.nanoseconds) \(content)\n").utf8)
    }

    private static func entry(_ line: ArraySlice<UInt8>) -> (RawPath, PlaceEntry)? {
        let fields = line.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
        guard fields.count == 11, let path = bytes(hex: fields[0]), !path.isEmpty,
              let kind = PlaceEntry.Kind(rawValue: fields[1]),
              let device = UInt64(fields[2]), let inode = UInt64(fields[3]), let size = Int64(fields[4]),
              let mode = UInt32(fields[5], radix: 8), let owner = UInt32(fields[6]), let group = UInt32(fields[7]),
              let modified = time(fields[8]), let changed = time(fields[9]) else { return nil }
        let content: PlaceEntry.Content
        switch fields[10] {
        case "too-large": content = .tooLarge
        case "mount-point": content = .mountPoint
        case "-": content = .none
        case let text where text.hasPrefix("sha256:"):
            guard let digest = bytes(hex: String(text.dropFirst(7))), digest.count == 32 else { return nil }
            content = .digest(digest)
        case let text where text.hasPrefix("unreadable:"):
            guard let code = Int32(text.dropFirst(11)) else { return nil }
            content = .unreadable(code)
        default: return nil
        }
        return (RawPath(bytes: path), PlaceEntry(kind: kind, device: device, inode: inode, size: size, mode: mode, owner: owner, group: group,
                                 modified: modified, changed: changed, content: content))
    }

    private static func time(_ text: String) -> PlaceEntry.Time? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let seconds = Int64(parts[0]), let nanoseconds = Int64(parts[1]) else { return nil }
        return PlaceEntry.Time(seconds: seconds, nanoseconds: nanoseconds)
    }

    private static func hex(_ bytes: [UInt8]) -> String { String(hexOf: bytes) }

    private static func bytes(hex text: String) -> [UInt8]? {
        Array(text.utf8).withUnsafeBytes { [UInt8](hexPairs: $0) }
    }
}
