import Glibc
import HostFiles

/// The kernel-module configuration as kmod and systemd read it, from the files under a
/// root: modprobe.d(5) directives and modules-load.d(5) lists, with their precedence.
///
/// Precedence (kmod 30's and systemd's own): the directories are searched in the order of
/// `modprobeDirectories` / `modulesLoadDirectories`; a file name found in an earlier one
/// hides the same name in every later one (a link to /dev/null, or to nothing, hides it
/// and adds nothing); only names ending in `.conf` (for kmod also `.alias`) and not
/// starting with `.` are read, never directories; the files are read in name order (byte
/// order), whichever directory they are in. A directive missing its arguments is skipped,
/// as kmod's parser does. For `install` and `remove` the first directive whose module (a
/// pattern, fnmatch(3)) matches wins; `blacklist` and `options` add up. Module names
/// compare with `-` and `_` the same (kmod's `underscores`, which spares `[...]`).
public struct ModprobeConfiguration: Sendable {
    public static let modprobeDirectories = ["/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
                                             "/usr/lib/modprobe.d", "/lib/modprobe.d"]
    public static let modulesLoadDirectories = ["/etc/modules-load.d", "/run/modules-load.d", "/usr/local/lib/modules-load.d",
                                                "/usr/lib/modules-load.d", "/lib/modules-load.d"]
    /// Debian's list of modules loaded at boot (read by systemd through
    /// `/etc/modules-load.d/modules.conf`, a link to it, and by older init scripts).
    public static let debianModules = "/etc/modules"

    /// One configuration file and what it does.
    public struct File: Sendable {
        /// The path under the root, as the system sees it (`/etc/modprobe.d/x.conf`).
        public var path: String
        /// Read by kmod or systemd: a `.conf` name not hidden by an earlier directory.
        public var isRead: Bool
        /// Why it is not read (hidden by which file, masked, not `.conf`).
        public var unreadReason: String?
        /// For a file (or a directory) kmod or systemd reads: why it could not be read here
        /// (`SmallFile.ReadProblem`); its directives are then unknown.
        public var readProblem: String?
        /// Whose file it is: kmod's modprobe.d (no verdict passes while one cannot be
        /// read) or a list of modules loaded at boot.
        public var kind: Kind = .modprobe

        public enum Kind: Sendable { case modprobe, modulesLoad }
    }

    /// One directive, in the order read.
    public struct Directive: Sendable, Equatable {
        /// `install`, `blacklist`, `options`, `alias`, `softdep`, `remove`, `weakdep`, or
        /// `load` (a module modules-load.d or /etc/modules loads at boot).
        public var command: String
        /// The module (normalised: `_` for `-`); for `alias`, the alias pattern.
        public var module: String
        /// The rest of the line (an install command, options, an alias's target).
        public var arguments: String
        public var file: String
        public var line: Int
        /// Whether it takes effect (an `install` or `remove` after the first for a module
        /// does not).
        public var effective = true
        /// The module as kmod keeps it, bytes (`module` is its display text).
        var pattern: [UInt8] = []
    }

    public private(set) var files: [File] = []
    public private(set) var directives: [Directive] = []
    /// One file read at most, and all files together: a tree of large files (sparse ones
    /// cost no disk) is flagged, never held in memory whole.
    public static let maximumFileBytes = 64 << 20
    public static let maximumTotalBytes = 64 << 20
    private var bytesLeft = maximumTotalBytes
    /// Where each command's first directive for a plain name is, and where its patterns
    /// with a glob character are, in read order: a directive, or a control of a profile,
    /// is matched by a look-up and a pass over the patterns alone, not over every
    /// directive (a file of thousands of lines, a profile of thousands of controls).
    private var firstByName: [String: [[UInt8]: Int]] = [:]
    private var globs: [String: [(pattern: [UInt8], position: Int)]] = [:]

    /// Adds `directive`, indexed. Only `install` and `remove` take patterns (kmod's
    /// fnmatch); the other commands name modules exactly.
    private mutating func append(_ directive: Directive) {
        let position = directives.count
        directives.append(directive)
        let pattern = directive.command == "load" ? Array(directive.module.utf8) : directive.pattern
        if directive.command == "install" || directive.command == "remove",
           pattern.contains(where: { [UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["), UInt8(ascii: "\\")].contains($0) }) {
            globs[directive.command, default: []].append((pattern, position))
        } else if firstByName[directive.command]?[pattern] == nil {
            firstByName[directive.command, default: [:]][pattern] = position
        }
    }

    /// The position of the first `command` directive whose pattern matches `name`
    /// (fnmatch), and of the first whose pattern is `name` itself.
    private func firstMatching(_ command: String, _ name: [UInt8]) -> (byPattern: Int?, byName: Int?) {
        let byName = firstByName[command]?[name]
        let byGlob = globs[command]?.first { Self.matches($0.pattern, name) }?.position
        return ([byName, byGlob].compactMap { $0 }.min(), byName)
    }
    /// Lines that are no known directive: (file, line, text).
    public private(set) var unknownLines: [(file: String, line: Int, text: String)] = []

    /// `module` with `-` as `_`, as kmod compares names.
    public static func normalize(_ module: String) -> String {
        String(module.map { $0 == "-" ? "_" : $0 })
    }

    /// Reads the configuration under `root` (`/` for this system).
    public static func load(root: String) -> ModprobeConfiguration {
        var configuration = ModprobeConfiguration()
        for (path, bytes) in configuration.read(directories: modprobeDirectories, kind: .modprobe, root: root) {
            configuration.parseModprobe(Self.kmodLines(bytes), file: path)
        }
        var loadFiles = configuration.read(directories: modulesLoadDirectories, kind: .modulesLoad, root: root)
        do throws(SmallFile.ReadProblem) {
            guard let modules = RawPath(debianModules).inRoot(RawPath(root), followingLast: true) else { throw .failed(errno: ELOOP) }
            let bytes = try SmallFile.contents(modules)
            configuration.files.append(File(path: debianModules, isRead: true, kind: .modulesLoad))
            loadFiles.append((debianModules, bytes))
        } catch where !error.isAbsence {
            configuration.files.append(File(path: debianModules, isRead: true, readProblem: error.description, kind: .modulesLoad))
        } catch {}
        var loaded = Set<String>()
        for (path, bytes) in loadFiles {
            // systemd's modules-load.d and Debian's /etc/modules: a module per line (its first
            // word), `#` and `;` comments, no continuation lines.
            for (index, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
                let text = String(decoding: line, as: UTF8.self)
                let word = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) ?? ""
                guard !word.isEmpty, !word.hasPrefix("#"), !word.hasPrefix(";") else { continue }
                let number = index + 1
                let module = normalize(word)
                // /etc/modules-load.d/modules.conf is often a link to /etc/modules: one load.
                let effective = loaded.insert(module).inserted
                configuration.append(Directive(command: "load", module: module, arguments: "", file: path,
                                                          line: number, effective: effective))
            }
        }
        return configuration
    }

    /// Lists `directories` under `root` with their precedence; returns the read files'
    /// bytes in read order.
    private mutating func read(directories: [String], kind: File.Kind, root: String) -> [(String, [UInt8])] {
        var winners: [RawPath: (path: String, system: RawPath, file: Int)] = [:]
        var seenDirectories = Set<RawPath>()
        // kmod reads `*.conf` and the older `*.alias` (systemd's modules-load.d only
        // `*.conf`), never a name starting with `.`. A name is bytes: kmod reads
        // `\xff.conf` as well, so it is read here by its bytes too.
        let suffixes = kind == .modprobe ? [".conf", ".alias"] : [".conf"]
        // /dev/null as the root's own path is written (`inRoot` drops the root's trailing `/`).
        let devNull = RawPath("/dev/null").inRoot(RawPath(root), followingLast: false)
        for directory in directories {
            guard let systemDirectory = RawPath(directory).inRoot(RawPath(root), followingLast: true) else {
                files.append(File(path: DisplayText.of(directory), isRead: true,
                                  readProblem: "more than \(RawPath.maximumLinks) links", kind: kind))
                continue
            }
            // /lib/modprobe.d is /usr/lib/modprobe.d on a merged-/usr system: list it once.
            if let real = SmallFile.realPath(systemDirectory), !seenDirectories.insert(real).inserted { continue }
            let names: [RawPath]
            do { names = try SmallFile.listing(of: systemDirectory) } catch {
                // kmod reads a place that is a file as one more file: not decided here.
                if error == .failed(errno: ENOTDIR) || !error.isAbsence {
                    let problem = error == .failed(errno: ENOTDIR) ? "not a directory: kmod reads it as a file" : "cannot be listed: \(error)"
                    files.append(File(path: DisplayText.of(directory), isRead: true, readProblem: problem, kind: kind))
                }
                continue
            }
            for name in names {
                let path = DisplayText.of(directory) + "/" + name.text
                // Its own link, if it is one, followed inside the root too.
                let followed = (RawPath(directory) + RawPath("/") + name).inRoot(RawPath(root), followingLast: true)
                let system = followed ?? systemDirectory + RawPath("/") + name
                // A link that leads to /dev/null inside a root (however spelt) is a mask
                // there, though an image holds no device node for it.
                let maskedInRoot = root != "/" && followed != nil && followed == devNull
                guard suffixes.contains(where: { name.hasSuffix($0) }), !name.hasPrefix(".") else {
                    files.append(File(path: path, isRead: false, unreadReason: "not a \(suffixes.joined(separator: " or ")) name: never read", kind: kind))
                    continue
                }
                // kmod drops directories before it weighs names: never read, they hide
                // nothing. What it cannot stat (a link to nothing) kmod 30 to 33 judge by
                // the previous entry's stat (unchecked): it may hide the name or not, so
                // nothing can be decided while it stands (kmod 34 drops it).
                var status = stat()
                if maskedInRoot {
                    // What /dev/null is on the running system: makedev(1, 3).
                    (status.st_mode, status.st_rdev) = (S_IFCHR, 0x103)
                } else {
                    do { status = try system.status(followingLinks: true) } catch {
                        files.append(File(path: path, isRead: true, readProblem: error.isAbsence
                                              ? "a link to nothing: kmod 30 to 33 may let it hide the name or not"
                                              : "cannot be examined: \(error)", kind: kind))
                        continue
                    }
                }
                if status.st_mode & S_IFMT == S_IFDIR {
                    files.append(File(path: path, isRead: false, unreadReason: "a directory: never read, hides nothing", kind: kind))
                    continue
                }
                if let winner = winners[name] {
                    files.append(File(path: path, isRead: false, unreadReason: "hidden by \(winner.path)", kind: kind))
                    continue
                }
                winners[name] = (path, system, files.count)
                if Self.isMask(system, status) {
                    files.append(File(path: path, isRead: false, unreadReason: "a link to /dev/null: masks the name", kind: kind))
                    continue
                }
                files.append(File(path: path, isRead: true, kind: kind))
            }
        }
        var read: [(String, [UInt8])] = []
        // Whole (kmod has no limit), or not at all: a directive after the part read would
        // otherwise go unseen. A mask wins its name and is not read.
        for (_, winner) in winners.filter({ files[$0.value.file].isRead }).sorted(by: { $0.key < $1.key }) {
            do {
                let bytes = try SmallFile.contents(winner.system, limit: min(Self.maximumFileBytes, bytesLeft))
                bytesLeft -= bytes.count
                read.append((winner.path, bytes))
            } catch {
                files[winner.file].readProblem = bytesLeft < Self.maximumFileBytes && error == .largerThan(bytesLeft)
                    ? "not read: the \(Self.maximumTotalBytes >> 20) MiB all files together may hold are used up" : error.description
            }
        }
        return read
    }

    /// The files (and directories) kmod reads for modprobe.d directives that could not be
    /// read here: no verdict on what they may say can pass.
    public var unreadableModprobeFiles: [File] {
        files.filter { $0.readProblem != nil && $0.kind == .modprobe }
    }

    /// kmod 30's parser (`kmod_config_parse`), on bytes: a line starting with `#` is a
    /// comment; words are separated by spaces and tabs (`strtok_r`), the module is the
    /// second and the rest of the line (after the one separator that ends the module)
    /// is the command or options; a module kmod's `underscores` refuses, or a missing
    /// part, is a syntax error kmod skips the line for.
    private mutating func parseModprobe(_ lines: [(number: Int, bytes: [UInt8])], file: String) {
        for (number, line) in lines where line.first.map({ $0 != UInt8(ascii: "#") }) ?? false {
            var index = 0
            guard let commandBytes = Self.token(line, &index) else { continue }
            let command = String(decoding: commandBytes, as: UTF8.self)
            let moduleToken = Self.token(line, &index)
            let takesRest = ["options", "install", "remove", "softdep", "weakdep"].contains(command)
            let rest: [UInt8]? = command == "alias" ? Self.token(line, &index).flatMap(Self.underscores)
                : takesRest ? (index < line.count ? Array(line[index...]) : nil) : []
            guard ["alias", "blacklist"].contains(command) || takesRest,
                  let pattern = moduleToken.flatMap(Self.underscores), let rest else {
                unknownLines.append((file, number, DisplayText.of(line)))
                continue
            }
            var directive = Directive(command: command, module: DisplayText.of(pattern), arguments: DisplayText.of(rest),
                                      file: file, line: number, pattern: pattern)
            if command == "install" || command == "remove" {
                directive.effective = firstMatching(command, pattern).byPattern == nil
            }
            append(directive)
        }
    }

    /// `strtok_r(3)` with `"\t "`: the next word, after any separators; `index` is left
    /// past the one separator that ends it (kmod's NUL there).
    static func token(_ line: [UInt8], _ index: inout Int) -> [UInt8]? {
        func isSeparator(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        while index < line.count, isSeparator(line[index]) { index += 1 }
        guard index < line.count else { return nil }
        let start = index
        while index < line.count, !isSeparator(line[index]) { index += 1 }
        defer { if index < line.count { index += 1 } }
        return Array(line[start ..< index])
    }

    /// The `install` directives kmod may run for `module`: the first whose module, a
    /// pattern, matches it (fnmatch: kmod's rule for a module in modules.dep, so
    /// `install usb* CMD` read first wins) and the first naming it exactly (the rule for
    /// a module not there, or built in); one when they are the same.
    public func installs(for module: String) -> [Directive] {
        let (byPattern, byName) = firstMatching("install", Array(Self.normalize(module).utf8))
        return (byPattern == byName ? [byPattern] : [byPattern, byName]).compactMap { $0.map { directives[$0] } }
    }

    /// The `install` kmod runs for `module` when it is in modules.dep, if any.
    public func install(for module: String) -> Directive? { installs(for: module).first }

    /// Whether a directive's module pattern matches `name` (fnmatch(3) on bytes, as kmod).
    static func matches(_ pattern: [UInt8], _ name: [UInt8]) -> Bool {
        // RawPath only for its C string of bytes.
        RawPath(bytes: pattern).withCString { pattern in RawPath(bytes: name).withCString { fnmatch(pattern, $0, 0) == 0 } }
    }

    /// kmod's `underscores`, on bytes: `-` as `_`, except inside a `[...]` bracket
    /// expression (skipped to its `]`); nil for a `]` outside one or an unclosed `[`.
    static func underscores(_ bytes: [UInt8]) -> [UInt8]? {
        var out = bytes
        var index = 0
        while index < out.count {
            switch out[index] {
            case UInt8(ascii: "-"): out[index] = UInt8(ascii: "_")
            case UInt8(ascii: "]"): return nil
            case UInt8(ascii: "["):
                guard let close = out[index...].firstIndex(of: UInt8(ascii: "]")) else { return nil }
                index = close
            default: break
            }
            index += 1
        }
        return out
    }

    /// The first `blacklist` of `module`, if any (kmod compares the name exactly).
    public func blacklist(of module: String) -> Directive? {
        firstByName["blacklist"]?[Array(Self.normalize(module).utf8)].map { directives[$0] }
    }

    /// Where `module` is loaded at boot (modules-load.d, /etc/modules), if it is.
    public func load(of module: String) -> Directive? {
        firstByName["load"]?[Array(Self.normalize(module).utf8)].map { directives[$0] }
    }

    // MARK: - Files

    /// A symbolic link to /dev/null (systemd's and kmod's way to mask a name), however the
    /// link spells it: what `status` (followed) finds is the null device, 1:3.
    static func isMask(_ path: RawPath, _ status: stat) -> Bool {
        SmallFile.linkTarget(path) == RawPath("/dev/null")
            // makedev(1, 3) in glibc's encoding: (major << 8) | minor below 256.
            || status.st_mode & S_IFMT == S_IFCHR && status.st_rdev == 0x103
    }

    /// kmod's `freadline_wrapped`, byte for byte: a `\` and a newline join two lines; a
    /// `\` and any other byte leave that byte alone; a `\` at the end of the file leaves
    /// 0xFF; a NUL ends the line (kmod reads it as a C string). Each line comes with the
    /// number of its first physical line.
    static func kmodLines(_ bytes: [UInt8]) -> [(number: Int, bytes: [UInt8])] {
        var lines: [(number: Int, bytes: [UInt8])] = []
        var current: [UInt8] = []
        var physical = 1, start = 1
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case 0x0A:
                lines.append((start, current))
                current = []
                physical += 1
                start = physical
            case UInt8(ascii: "\\"):
                if index == bytes.count {
                    current.append(0xFF)   // getc's EOF, stored as a char
                } else if bytes[index] == 0x0A {
                    physical += 1
                    index += 1
                } else {
                    current.append(bytes[index])
                    index += 1
                }
            default:
                current.append(byte)
            }
        }
        if !current.isEmpty { lines.append((start, current)) }
        return lines.map { ($0.number, Array($0.bytes.prefix { $0 != 0 })) }
    }
}
