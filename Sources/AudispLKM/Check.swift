import ArgumentParser
import FileEvents
import Glibc
import Outputs
import PluginRuntime
import RuleEngine

/// `audisp-lkm check`: is this machine set up so that the plugin can see what the rule
/// covers, and can its alerts get out?
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the configuration, the rule, the output and the kernel's audit watches.",
        discussion: """
            Validates the configuration file (errors name the line) and the rule it \
            selects; checks that the output takes alerts (a syslog daemon listens on the \
            socket; the file or its directory is writable); then lists every place the rule \
            can alert about with whether a kernel watch covers it, on the system-call list \
            and on the io_uring list, or MISSING: creations there (by that route) produce \
            no audit record, so nothing could alert. Listing the kernel's rules needs root.

            Exit status: 0 when everything is in order; 1 when the output cannot take \
            alerts, a place is not covered or the kernel's rules cannot be read; 2 when the \
            configuration or rule is unusable.
            """
    )

    @Option(help: ArgumentHelp("The configuration file.", valueName: "file"))
    var config: String = PluginConfiguration.defaultPath

    func run() throws {
        let configuration: PluginConfiguration
        do {
            let loaded = try PluginConfiguration.load(path: config, required: config != PluginConfiguration.defaultPath)
            print("configuration \(config): \(loaded == nil ? "absent, defaults apply" : "valid")")
            configuration = loaded ?? PluginConfiguration()
        } catch {
            throw ValidationError(error.description)
        }
        let rule: DetectionRule
        do { rule = try configuration.loadRule() } catch { throw ValidationError(error.description) }
        print("rule: \(rule.name), version \(rule.version.map(String.init) ?? "-")\(configuration.rule.map { " (\($0))" } ?? " (built in)")")
        let outputProblem = Self.outputProblem(configuration)
        print("output: \(configuration.makeSink().description): \(outputProblem ?? "takes alerts")")
        let kernel: KernelWatches
        switch KernelWatches.load() {
        case .success(let watches): kernel = watches
        case .failure(let error):
            print("kernel watches: cannot be listed: \(error)")
            throw ExitCode(1)
        }
        let usrMerge = configuration.usrMerge
        let missing = kernel.uncovered(rule.locations, usrMerge: usrMerge)
        let missingIOURing = kernel.uncovered(rule.locations, usrMerge: usrMerge, list: 7)
        print("  system calls  io_uring  place")
        for location in rule.locations {
            func state(_ missing: [RuleLocation]) -> String { missing.contains(location) ? "MISSING" : "watched" }
            print("  \(state(missing))       \(state(missingIOURing))   \(location)")
        }
        // A place replaced by a symbolic link: its watch sees the link, not what is made
        // behind it.
        var replaced = false
        for location in rule.locations where location.isDirectory {
            guard let target = LiveSystem.linkTarget(Array(location.path.utf8)) else { continue }
            replaced = true
            print("\(location) is a symbolic link to \(String(decoding: target, as: UTF8.self)): "
                  + "creations there are seen only if the target is watched too")
        }
        if !missing.isEmpty {
            print("\(missing.count) of \(rule.locations.count) places have no system-call watch: install audit-rules/ and run augenrules --load")
        }
        if !missingIOURing.isEmpty {
            print("\(missingIOURing.count) of \(rule.locations.count) places have no io_uring watch: run audisp-lkm watches add "
                  + "(the plugin does at start when manage_watches = yes)")
        }
        if outputProblem != nil || !missing.isEmpty || !missingIOURing.isEmpty || replaced { throw ExitCode(1) }
    }

    /// Why alerts could not get out now, without writing one: the plugin would withhold
    /// and retry them.
    private static func outputProblem(_ configuration: PluginConfiguration) -> String? {
        switch configuration.output {
        case .syslog:
            do { try SyslogSocket(path: configuration.syslogSocket).connect() } catch {
                return "NOT REACHABLE (\(error)): is the syslog daemon running?"
            }
        case .file:
            // The plugin appends, creating the file when missing.
            let file = configuration.file
            let target = access(file, F_OK) == 0 ? file : String(decoding: PathText.directory(of: Array(file.utf8)), as: UTF8.self)
            if access(target, W_OK) != 0 {
                return "NOT WRITABLE (\(target): \(String(cString: strerror(errno))))"
            }
        case .stdout: break
        }
        return nil
    }
}
