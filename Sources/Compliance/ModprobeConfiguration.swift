import Glibc

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
    }

    public private(set) var files: [File] = []
    public private(set) var directives: [Directive] = []
    /// Lines that are no known directive: (file, line, text).
    public private(set) var unknownLines: [(file: String, line: Int, text: String)] = []

    /// `module` with `-` as `_`, as kmod compares names.
    public static func normalize(_ module: String) -> String {
        String(module.map { $0 == "-" ? "_" : $0 })
    }

    /// Reads the configuration under `root` (`/` for this system).
    public static func load(root: String) -> ModprobeConfiguration {
        var configuration = ModprobeConfiguration()
        for (path, lines) in configuration.read(directories: modprobeDirectories, kind: .modprobe, root: root) {
            configuration.parseModprobe(lines, file: path)
        }
        var loadFiles = configuration.read(directories: modulesLoadDirectories, kind: .modulesLoad, root: root)
        do {
            let lines = try Self.lines(of: RawPath(root + debianModules))
            configuration.files.append(File(path: debianModules, isRead: true, kind: .modulesLoad))
            loadFiles.append((debianModules, lines))
        } catch where !error.isAbsence {
            configuration.files.append(File(path: debianModules, isRead: true, readProblem: error.description, kind: .modulesLoad))
        } catch {}
        var loaded = Set<String>()
        for (path, lines) in loadFiles {
            for (number, text) in lines {
                let word = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) ?? ""
                guard !word.isEmpty, !word.hasPrefix("#"), !word.hasPrefix(";") else { continue }
                let module = normalize(word)
                // /etc/modules-load.d/modules.conf is often a link to /etc/modules: one load.
                let effective = loaded.insert(module).inserted
                configuration.directives.append(Directive(command: "load", module: module, arguments: "", file: path,
                                                          line: number, effective: effective))
            }
        }
        return configuration
    }

    /// Lists `directories` under `root` with their precedence; returns the read files'
    /// logical lines in read order.
    private mutating func read(directories: [String], kind: File.Kind, root: String) -> [(String, [(Int, String)])] {
        var winners: [RawPath: (path: String, system: RawPath, file: Int)] = [:]
        var unread = Set<RawPath>()   // names taken by a mask or a link to nothing
        var seenDirectories = Set<RawPath>()
        // kmod reads `*.conf` and the older `*.alias` (systemd's modules-load.d only
        // `*.conf`), never a name starting with `.`. A name is bytes: kmod reads
        // `\xff.conf` as well, so it is read here by its bytes too.
        let suffixes = kind == .modprobe ? [".conf", ".alias"] : [".conf"]
        for directory in directories {
            let systemDirectory = RawPath(root + directory)
            // /lib/modprobe.d is /usr/lib/modprobe.d on a merged-/usr system: list it once.
            if let real = SmallFile.realPath(systemDirectory), !seenDirectories.insert(real).inserted { continue }
            let names: [RawPath]
            do { names = try SmallFile.listing(of: systemDirectory) } catch {
                if !error.isAbsence {
                    files.append(File(path: DisplayText.of(directory), isRead: true, readProblem: "cannot be listed: \(error)", kind: kind))
                }
                continue
            }
            for name in names {
                let path = DisplayText.of(directory) + "/" + name.text
                let system = systemDirectory + RawPath("/") + name
                guard suffixes.contains(where: { name.hasSuffix($0) }), !name.hasPrefix(".") else {
                    files.append(File(path: path, isRead: false, unreadReason: "not a \(suffixes.joined(separator: " or ")) name: never read", kind: kind))
                    continue
                }
                // kmod drops directories before it weighs names: never read, they hide
                // nothing. A link to nothing it keeps until kmod 34 (its stat is not
                // checked before): it hides the name and, not opening, adds nothing.
                let status: stat?
                do { status = try system.status(followingLinks: true) } catch where error.isAbsence { status = nil } catch {
                    files.append(File(path: path, isRead: true, readProblem: "cannot be examined: \(error)", kind: kind))
                    continue
                }
                if let status, status.st_mode & S_IFMT == S_IFDIR {
                    files.append(File(path: path, isRead: false, unreadReason: "a directory: never read, hides nothing", kind: kind))
                    continue
                }
                if let winner = winners[name] {
                    files.append(File(path: path, isRead: false, unreadReason: "hidden by \(winner.path)", kind: kind))
                    continue
                }
                winners[name] = (path, system, files.count)
                guard let status else {
                    unread.insert(name)
                    files.append(File(path: path, isRead: false,
                                      unreadReason: "a link to nothing: adds nothing, but hides the name (kmod before 34)", kind: kind))
                    continue
                }
                if Self.isMask(system, status) {
                    unread.insert(name)
                    files.append(File(path: path, isRead: false, unreadReason: "a link to /dev/null: masks the name", kind: kind))
                    continue
                }
                files.append(File(path: path, isRead: true, kind: kind))
            }
        }
        var read: [(String, [(Int, String)])] = []
        for (_, winner) in winners.filter({ !unread.contains($0.key) }).sorted(by: { $0.key.bytes.lexicographicallyPrecedes($1.key.bytes) }) {
            do { read.append((winner.path, try Self.lines(of: winner.system))) } catch { files[winner.file].readProblem = error.description }
        }
        return read
    }

    /// The files (and directories) kmod reads for modprobe.d directives that could not be
    /// read here: no verdict on what they may say can pass.
    public var unreadableModprobeFiles: [File] {
        files.filter { $0.readProblem != nil && $0.kind == .modprobe }
    }

    private mutating func parseModprobe(_ lines: [(Int, String)], file: String) {
        for (number, text) in lines {
            let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let command = words.first, !command.hasPrefix("#") else { continue }
            // kmod's parser: a command without its arguments is a syntax error, skipped.
            let minimumWords = ["install": 3, "remove": 3, "alias": 3, "softdep": 3, "weakdep": 3, "options": 2, "blacklist": 2]
            guard let minimum = minimumWords[command], words.count >= minimum else {
                unknownLines.append((file, number, text))
                continue
            }
            guard let module = command == "alias" ? words[1] : Self.normalizePattern(words[1]) else {
                unknownLines.append((file, number, text))
                continue
            }
            var directive = Directive(command: command, module: module, arguments: words.dropFirst(2).joined(separator: " "),
                                      file: file, line: number)
            if command == "install" || command == "remove" {
                directive.effective = !directives.contains { $0.command == command && Self.matches($0.module, module) }
            }
            directives.append(directive)
        }
    }

    /// The `install` command that takes effect for `module`, if any: the first whose
    /// module, a pattern, matches it (kmod's `fnmatch`: `install usb* CMD` read first
    /// wins over `install usb-storage /bin/false`).
    public func install(for module: String) -> Directive? {
        let name = Self.normalize(module)
        return directives.first { $0.command == "install" && Self.matches($0.module, name) }
    }

    /// Whether the module pattern of a directive matches `name` (fnmatch(3), as kmod).
    static func matches(_ pattern: String, _ name: String) -> Bool { fnmatch(pattern, name, 0) == 0 }

    /// A directive's module as kmod keeps it (its `underscores`): `-` as `_`, but not
    /// inside a `[...]` bracket expression; nil for a `]` without its `[` or an unclosed
    /// `[`, a syntax error kmod skips the line for.
    static func normalizePattern(_ text: String) -> String? {
        var out = ""
        var inBrackets = false
        for character in text {
            switch character {
            case "[" where !inBrackets: inBrackets = true
            case "]" where inBrackets: inBrackets = false
            case "]": return nil
            default: break
            }
            out.append(character == "-" && !inBrackets ? "_" : character)
        }
        return inBrackets ? nil : out
    }

    /// The first `blacklist` of `module`, if any.
    public func blacklist(of module: String) -> Directive? {
        let name = Self.normalize(module)
        return directives.first { $0.command == "blacklist" && $0.module == name }
    }

    /// Where `module` is loaded at boot (modules-load.d, /etc/modules), if it is.
    public func load(of module: String) -> Directive? {
        let name = Self.normalize(module)
        return directives.first { $0.command == "load" && $0.module == name }
    }

    // MARK: - Files

    /// A symbolic link to /dev/null (systemd's and kmod's way to mask a name), however the
    /// link spells it: what `status` (followed) finds is the null device, 1:3.
    static func isMask(_ path: RawPath, _ status: stat) -> Bool {
        SmallFile.linkTarget(path) == RawPath("/dev/null")
            // makedev(1, 3) in glibc's encoding: (major << 8) | minor below 256.
            || status.st_mode & S_IFMT == S_IFCHR && status.st_rdev == 0x103
    }

    /// A file's logical lines with their first line's number: a `\` at the end joins the
    /// next line (kmod). Read whole (kmod has no limit), or not at all: a directive after
    /// the part read would otherwise go unseen.
    static func lines(of path: RawPath) throws(SmallFile.ReadProblem) -> [(Int, String)] {
        let bytes = try SmallFile.contents(path)
        var result: [(Int, String)] = []
        var pending = ""
        var start = 0
        for (index, raw) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            var text = String(decoding: raw, as: UTF8.self)
            if pending.isEmpty { start = index + 1 }
            if text.hasSuffix("\\") {
                text.removeLast()
                pending += text
                continue
            }
            result.append((start, pending + text))
            pending = ""
        }
        if !pending.isEmpty { result.append((start, pending)) }
        return result
    }
}
