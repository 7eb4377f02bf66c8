import Glibc
import HostFiles

/// Merged-/usr systems (Debian 12, Fedora, Ubuntu, RHEL 9...) make `/bin`, `/sbin`,
/// `/lib*` symbolic links into `/usr`. The kernel logs names as passed, so
/// `/lib/modprobe.d/x.conf` must become `/usr/lib/modprobe.d/x.conf`, which is the file's
/// canonical path (what Elastic Defend reports, walking dentries).
public struct UsrMerge: Sendable {
    /// Whether the aliases apply (false: a split-/usr system, paths are left as they are).
    public var isMerged: Bool

    public init(isMerged: Bool) { self.isMerged = isMerged }

    /// This machine's layout: merged when /lib is a link into /usr.
    public static var ofThisSystem: UsrMerge {
        UsrMerge(isMerged: (try? RawPath("/lib").status()).map { $0.st_mode & S_IFMT == S_IFLNK } ?? false)
    }

    private static let aliases: [[UInt8]] = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"].map { Array($0.utf8) }

    /// Rewrites an aliased directory prefix; the final component is never rewritten
    /// (it may itself be a link, and the rule is about the name that was made).
    public func canonical(_ path: RawPath) -> RawPath {
        guard isMerged else { return path }
        for alias in Self.aliases where path.bytes.count > alias.count + 1 && path.bytes.starts(with: alias)
            && path.bytes[alias.count] == UInt8(ascii: "/") {
            // The alias must be a directory of the path: something follows its '/'.
            return "/usr" + path
        }
        return path
    }
}
