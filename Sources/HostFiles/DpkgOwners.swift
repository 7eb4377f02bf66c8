/// Which dpkg packages own files (`dpkg-query -S`), each file asked in both spellings of a
/// merged `/usr` (dpkg may list `/lib/x` for `/usr/lib/x`) and as itself (`-S` takes glob
/// patterns: `*`, `?`, `[` and `\` are escaped). Diversions name no owner.
public enum DpkgOwners {
    public static let dpkgQuery = "/usr/bin/dpkg-query"

    /// The first owning package of each of `paths` that has one; nil when dpkg-query
    /// cannot be run. `adminDirectory`: another root's database (`--admindir`).
    public static func of(_ paths: [RawPath], adminDirectory: String? = nil) -> [RawPath: String]? {
        let spellings = spellings(of: paths)
        let patterns = spellings.keys.sorted().map { path in
            RawPath(bytes: path.bytes.flatMap { Array("*?[\\".utf8).contains($0) ? [UInt8(ascii: "\\"), $0] : [$0] })
        }
        let options = adminDirectory.map { [RawPath("--admindir=\($0)")] } ?? []
        guard let (output, _) = runProgram(dpkgQuery, options + [RawPath("-S")] + patterns) else { return nil }
        var owners: [RawPath: String] = [:]
        for line in output.split(separator: 0x0A) {
            // "pkg1, pkg2: /path"; "diversion by PKG from: /path" and "local diversion to:
            // /path" name no owner.
            guard let separator = line.firstRange(of: Array(": /".utf8)),
                  !line.starts(with: "diversion ".utf8), !line.starts(with: "local diversion ".utf8),
                  let asked = spellings[RawPath(bytes: Array(line[(separator.lowerBound + 2)...]))] else { continue }
            owners[asked] = String(decoding: line[..<separator.lowerBound], as: UTF8.self).split(separator: ",").first
                .map { $0.trimmed(" ") }
        }
        return owners
    }
}

extension DpkgOwners {
    /// What dpkg may list for each of `paths`, with the path asked: itself, and its other
    /// spelling under a merged `/usr`.
    public static func spellings(of paths: [RawPath]) -> [RawPath: RawPath] {
        var spellings: [RawPath: RawPath] = [:]
        for path in paths {
            spellings[path] = path
            for (merged, split) in [("/usr/lib/", "/lib/"), ("/usr/bin/", "/bin/"), ("/usr/sbin/", "/sbin/")] {
                if path.hasPrefix(merged) { spellings[RawPath(split) + RawPath(bytes: Array(path.bytes.dropFirst(merged.utf8.count)))] = path }
                else if path.hasPrefix(split) { spellings[RawPath(merged) + RawPath(bytes: Array(path.bytes.dropFirst(split.utf8.count)))] = path }
            }
        }
        return spellings
    }
}
