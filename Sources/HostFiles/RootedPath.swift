extension RawPath {
    /// Links followed at most while resolving a path (Linux's own limit is 40).
    public static let maximumLinks = 40

    /// This path (absolute, as the system under `root` names it) as a path of this host
    /// inside `root`, the way `openat2`'s `RESOLVE_IN_ROOT` resolves it: a symbolic link
    /// among its components (the last too when `followingLast`) is followed as if `root`
    /// were `/`, so an absolute target starts again at `root` and `..` never climbs above
    /// it. Nothing outside `root` is reached, whatever links the tree holds (a suspect
    /// disk's `etc/modules -> /etc/shadow` is the image's own `etc/shadow`). nil past
    /// `maximumLinks` links (a loop). With `root` `/`, the path as it is.
    public func inRoot(_ root: RawPath, followingLast: Bool) -> RawPath? {
        var rootBytes = root.bytes
        while rootBytes.last == Self.slash { rootBytes.removeLast() }
        guard !rootBytes.isEmpty else { return self }
        var pending = Self.components(of: bytes).reversed() as [[UInt8]]
        var resolved: [[UInt8]] = []
        var links = 0
        func hostPath(_ components: [[UInt8]]) -> RawPath {
            RawPath(bytes: components.reduce(into: rootBytes) { $0 += [Self.slash] + $1 })
        }
        while let component = pending.popLast() {
            if component.isEmpty || component == [Self.dot] { continue }
            if component == [Self.dot, Self.dot] {
                _ = resolved.popLast()
                continue
            }
            if !pending.isEmpty || followingLast, let target = SmallFile.linkTarget(hostPath(resolved + [component])) {
                links += 1
                guard links <= Self.maximumLinks else { return nil }
                if target.bytes.first == Self.slash { resolved = [] }
                pending += Self.components(of: target.bytes).reversed()
                continue
            }
            resolved.append(component)
        }
        return resolved.isEmpty ? RawPath(bytes: rootBytes + [Self.slash]) : hostPath(resolved)
    }

    private static func components(of bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(separator: slash, omittingEmptySubsequences: true).map(Array.init)
    }
}
