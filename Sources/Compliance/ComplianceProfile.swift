import FileEvents
import Glibc
import HostFiles
import RuleEngine

/// Which kernel modules a benchmark requires to be not loadable, per control: CIS
/// Benchmarks and DISA STIGs check exactly the modprobe.d directives this evaluates.
/// Profiles are TOML data files (`Sources/Compliance/Profiles/`, built into the binary),
/// each citing its document and version; `--profile FILE` loads one of the same shape.
public struct ComplianceProfile: Sendable {
    public struct Control: Sendable {
        public var id: String
        public var title: String
        public var module: String
        /// What the document's audit checks: `install-disabled` (an `install MODULE`
        /// running one of `installCommands`) and `blacklist` (a `blacklist MODULE`).
        public var requirements: [String]
        public var note: String?
    }

    public var name: String
    public var title: String
    public var version: String
    public var published: String?
    public var reference: String?
    /// The commands an `install` line may run to disable a module (the first word).
    public var installCommands: [String]
    public var controls: [Control]

    public static let requirementNames = ["install-disabled", "blacklist"]
    public static let defaultInstallCommands = ["/bin/false", "/usr/bin/false", "/bin/true", "/usr/bin/true"]

    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The names of the built-in profiles.
    public static var builtInNames: [String] { builtIn.map(\.name).sorted() }

    private static let builtIn: [(name: String, text: [UInt8])] = [
        ("cis-debian-12", PackageResources.cis_debian_12_toml),
        ("cis-ubuntu-22.04", PackageResources.cis_ubuntu_22_04_toml),
        ("cis-ubuntu-24.04", PackageResources.cis_ubuntu_24_04_toml),
        ("stig-rhel-8", PackageResources.stig_rhel_8_toml),
        ("stig-rhel-9", PackageResources.stig_rhel_9_toml),
    ]

    /// A built-in profile by name, or a profile file by path.
    public static func load(_ nameOrPath: String) throws(LoadError) -> ComplianceProfile {
        if let found = builtIn.first(where: { $0.name == nameOrPath }) {
            return try parse(String(decoding: found.text, as: UTF8.self), source: nameOrPath)
        }
        guard nameOrPath.contains("/") || nameOrPath.hasSuffix(".toml") else {
            throw LoadError(description: "no profile named \(nameOrPath): built in are \(builtInNames.joined(separator: ", ")); or give a file")
        }
        // As written: TOML's own line-ending backslash is not modprobe.d's continuation.
        let text: String
        do { text = String(decoding: try SmallFile.contents(RawPath(nameOrPath)), as: UTF8.self) } catch {
            throw LoadError(description: "\(nameOrPath): cannot be read (\(error))")
        }
        return try parse(text, source: nameOrPath)
    }

    static func parse(_ text: String, source: String) throws(LoadError) -> ComplianceProfile {
        let root: TOMLTable
        do { root = try TOMLDocument.parse(text) } catch { throw LoadError(description: "\(source): \(error)") }
        guard let profile = root.table("profile"), let name = profile.string("name"), let title = profile.string("title"),
              let version = profile.string("version") else {
            throw LoadError(description: "\(source): a [profile] table with name, title and version is required")
        }
        var controls: [Control] = []
        for (index, table) in root.tables("control").enumerated() {
            guard let id = table.string("id"), let module = table.string("module"), let requirements = table.strings("require"),
                  !requirements.isEmpty else {
                throw LoadError(description: "\(source): control \(index + 1) needs id, module and require")
            }
            if let unknown = requirements.first(where: { !requirementNames.contains($0) }) {
                throw LoadError(description: "\(source): control \(id): unknown requirement \"\(unknown)\" "
                                + "(known: \(requirementNames.joined(separator: ", ")))")
            }
            controls.append(Control(id: id, title: table.string("title") ?? "", module: module, requirements: requirements,
                                    note: table.string("note")))
        }
        guard !controls.isEmpty else { throw LoadError(description: "\(source): no [[control]]") }
        let installCommands = profile.strings("install_commands")
        if let commands = installCommands, commands.isEmpty || commands.contains(where: { !$0.hasPrefix("/") }) {
            throw LoadError(description: "\(source): install_commands must list absolute commands (or be left out)")
        }
        return ComplianceProfile(name: name, title: title, version: version, published: profile.string("published"),
                                 reference: profile.string("reference"),
                                 installCommands: installCommands ?? defaultInstallCommands,
                                 controls: controls)
    }

    /// A control's verdict on a configuration.
    public struct Verdict: Sendable {
        public var control: Control
        public var passed: Bool
        /// What was found for each requirement, and anything that defeats it.
        public var findings: [String]
        /// The lines that would make it pass, when it fails.
        public var fix: String?
    }

    /// How to make `line` the install that wins over `install`: the first install read
    /// wins, and files are read in name order whichever directory holds them. A plain
    /// line in /etc is changed where it is. A package's file (an upgrade restores it) or a
    /// pattern line (it covers other modules too) is outvoted by a file in
    /// /etc/modprobe.d named to be read before it, where a name can be.
    static func replacing(_ install: ModprobeConfiguration.Directive, with line: String, module: String) -> String {
        let name = RawPath(displayText: install.file).lastComponent
        let earlier = "00-\(module).conf"
        let isPattern = install.module.contains { "*?[".contains($0) }
        if !install.file.hasPrefix("/etc/") || isPattern, Array(earlier.utf8).lexicographicallyPrecedes(name) {
            return "add /etc/modprobe.d/\(earlier) (read before \(install.file), so its install wins): \(line)"
        }
        return "change the directive at \(install.file):\(install.line) to: \(line)"
    }

    public func evaluate(_ configuration: ModprobeConfiguration) -> [Verdict] {
        controls.map { control in
            var findings: [String] = []
            var passed = true
            var fix: [String] = []
            var change: String?
            if control.requirements.contains("install-disabled") {
                let installs = configuration.installs(for: control.module)
                for install in installs {
                    // kmod hands the whole command to the shell: `/bin/true && /tmp/x` runs x.
                    let words = install.arguments.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                    if words.count == 1, installCommands.contains(words[0]) {
                        findings.append("install \(install.module) \(install.arguments) (\(install.file):\(install.line))")
                    } else {
                        passed = false
                        findings.append("install runs \(install.arguments), not \(installCommands.joined(separator: " or ")) (\(install.file):\(install.line))")
                        change = change ?? Self.replacing(install, with: "install \(control.module) \(installCommands[0])", module: control.module)
                    }
                }
                if installs.isEmpty {
                    passed = false
                    findings.append("no install line")
                    fix.append("install \(control.module) \(installCommands[0])")
                }
            }
            if control.requirements.contains("blacklist") {
                if let blacklist = configuration.blacklist(of: control.module) {
                    findings.append("blacklist \(blacklist.module) (\(blacklist.file):\(blacklist.line))")
                } else {
                    passed = false
                    findings.append("no blacklist line")
                    fix.append("blacklist \(control.module)")
                }
            }
            if let load = configuration.load(of: control.module) {
                findings.append("loaded at boot by \(load.file):\(load.line)")
            }
            // What kmod reads but this could not may hold an earlier install: undecided is no pass.
            for file in configuration.unreadableModprobeFiles {
                passed = false
                findings.append("cannot be decided: kmod reads \(file.path), which cannot be read here (\(file.readProblem ?? ""))")
            }
            let fixes = [change, fix.isEmpty ? nil : "add to /etc/modprobe.d/\(control.module).conf: " + fix.joined(separator: "; ")]
                .compactMap { $0 }
            return Verdict(control: control, passed: passed, findings: findings,
                           fix: fixes.isEmpty ? nil : fixes.joined(separator: "; "))
        }
    }
}
