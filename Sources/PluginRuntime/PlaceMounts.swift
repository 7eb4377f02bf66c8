import HostFiles

/// The mounts that touch the places, from `/proc/self/mountinfo`: a mount on a place,
/// on a directory above one, or on a name inside one. A change there means the watches
/// may be on a covered directory (the kernel keeps a watch on the inode it resolved when
/// the rule was added), so the plugin adds them again and scans the places. Polled: a
/// mount made from another namespace, or with descriptors only (`open_tree` and
/// `move_mount` with no path the watches see), leaves no record here.
struct PlaceMounts: Equatable {
    /// The lines that touch a place, without their mount ids (which renumber), in order.
    private(set) var lines: [[UInt8]]
    static let mountInfo = RawPath("/proc/self/mountinfo")

    /// The mounts now; nil when the table cannot be read.
    static func current(places: [RawPath]) -> PlaceMounts? {
        guard let table = SmallFile.bytes(mountInfo, limit: 16 << 20) else { return nil }
        var found: [[UInt8]] = []
        for line in table.split(separator: 0x0A) {
            // ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS ...; spaces in names are \040.
            let fields = line.split(separator: 0x20, maxSplits: 5, omittingEmptySubsequences: false)
            guard fields.count > 5 else { continue }
            let point = RawPath(bytes: Array(fields[4]))
            if places.contains(where: { touches(point, $0) }) { found.append(Array(fields[2...].joined(separator: [0x20]))) }
        }
        return PlaceMounts(lines: found.sorted { $0.lexicographicallyPrecedes($1) })
    }

    /// Whether a mount at `point` covers `place`, a directory above it (not `/`), or a
    /// name inside it.
    private static func touches(_ point: RawPath, _ place: RawPath) -> Bool {
        point == place || point != "/" && point.isAbove(place) || place.isAbove(point)
    }
}
