import Glibc

/// The kernel-module configuration as kmod and systemd read it, from the files under a
/// root: modprobe.d(5) directives and modules-load.d(5) lists, with their precedence.
///
/// Precedence (kmod's and systemd's own): the directories are searched in the order of
/// `modprobeDirectories` / `modulesLoadDirectories`; a file name found in an earlier one
/// hides the same name in every later one (a link to /dev/null hides it and adds
/// nothing); only names ending in `.conf` (for kmod also `.alias`) and not starting with
/// `.` are read, never directories; the files are read in name order (byte order),
/// whichever directory they are in. A directive missing its arguments is skipped, as
/// kmod's parser does. For `install`
/// and `remove` the first directive for a module wins; `blacklist` and `options` add up.
/// Module names compare with `-` and `_` the same (kmod's `modname_normalize`).
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
        /// For a file kmod or systemd reads: why it could not be read here
        /// (`SmallFile.ReadProblem`); its directives are then unknown, and no verdict passes.
        public var readProblem: String?
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
        for (path, lines) in configuration.read(directories: modprobeDirectories, root: root) {
            configuration.parseModprobe(lines, file: path)
        }
        var loadFiles = configuration.read(directories: modulesLoadDirectories, root: root)
        do {
            let lines = try Self.lines(of: RawPath(root + debianModules))
            configuration.files.append(File(path: debianModules, isRead: true))
            loadFiles.append((debianModules, lines))
        } catch .cannotOpen(errno: ENOENT) {
        } catch {
            configuration.files.append(File(path: debianModules, isRead: true, readProblem: error.description))
        }
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
    private mutating func read(directories: [String], root: String) -> [(String, [(Int, String)])] {
        var winners: [RawPath: (path: String, system: RawPath, file: Int)] = [:]
        var masked = Set<RawPath>()
        var seenDirectories = Set<RawPath>()
        // kmod reads `*.conf` and the older `*.alias` (systemd's modules-load.d only
        // `*.conf`), never a name starting with `.`, never a directory. A name is bytes:
        // kmod reads `\xff.conf` as well, so it is read here by its bytes too.
        let suffixes = directories == Self.modprobeDirectories ? [".conf", ".alias"] : [".conf"]
        for directory in directories {
            let systemDirectory = RawPath(root + directory)
            // /lib/modprobe.d is /usr/lib/modprobe.d on a merged-/usr system: list it once.
            guard let real = SmallFile.realPath(systemDirectory), seenDirectories.insert(real).inserted else { continue }
            for name in SmallFile.names(in: systemDirectory) {
                let path = DisplayText.of(directory) + "/" + name.text
                let system = systemDirectory + RawPath("/") + name
                guard suffixes.contains(where: { name.hasSuffix($0) }), !name.hasPrefix(".") else {
                    files.append(File(path: path, isRead: false, unreadReason: "not a \(suffixes.joined(separator: " or ")) name: never read"))
                    continue
                }
                if system.status(followingLinks: true).map({ $0.st_mode & S_IFMT == S_IFDIR }) == true {
                    files.append(File(path: path, isRead: false, unreadReason: "a directory: never read, hides nothing"))
                    continue
                }
                if let winner = winners[name] {
                    files.append(File(path: path, isRead: false, unreadReason: "hidden by \(winner.path)"))
                    continue
                }
                winners[name] = (path, system, files.count)
                if Self.isMask(system) {
                    masked.insert(name)
                    files.append(File(path: path, isRead: false, unreadReason: "a link to /dev/null: masks the name"))
                    continue
                }
                files.append(File(path: path, isRead: true))
            }
        }
        var read: [(String, [(Int, String)])] = []
        for (_, winner) in winners.filter({ !masked.contains($0.key) }).sorted(by: { $0.key.bytes.lexicographicallyPrecedes($1.key.bytes) }) {
            do { read.append((winner.path, try Self.lines(of: winner.system))) } catch { files[winner.file].readProblem = error.description }
        }
        return read
    }

    /// The files kmod reads for modprobe.d directives that could not be read here: no
    /// verdict on what they may say can pass.
    public var unreadableModprobeFiles: [File] {
        files.filter { file in
            file.readProblem != nil && Self.modprobeDirectories.contains { file.path.hasPrefix(DisplayText.of($0) + "/") }
        }
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
            let module = command == "alias" ? words[1] : Self.normalize(words[1])
            var directive = Directive(command: command, module: module, arguments: words.dropFirst(2).joined(separator: " "),
                                      file: file, line: number)
            if command == "install" || command == "remove" {
                directive.effective = !directives.contains { $0.command == command && $0.module == module }
            }
            directives.append(directive)
        }
    }

    /// The `install` command that takes effect for `module`, if any.
    public func install(for module: String) -> Directive? {
        let name = Self.normalize(module)
        return directives.first { $0.command == "install" && $0.module == name && $0.effective }
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

    /// A symbolic link to /dev/null (systemd's and kmod's way to mask a name).
    static func isMask(_ path: RawPath) -> Bool { SmallFile.linkTarget(path) == RawPath("/dev/null") }

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
