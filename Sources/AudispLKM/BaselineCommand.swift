import ArgumentParser
import Glibc
import OfflineReplay
import Outputs
import PlaceBaseline
import PluginRuntime
import RuleEngine
import Settings

/// `audisp-lkm baseline`: the places now against the plugin's stored baseline.
struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Compare the places now with the plugin's stored baseline: what changed that no record explained yet.",
        discussion: """
            The plugin keeps a baseline of the places (every name in /etc/modprobe.d, \
            /etc/modules-load.d, /etc/modules and their twins, with its SHA-256) in its \
            state directory, current from the audit events, and compares the places with \
            it whenever it can see again. This command makes that comparison now, without \
            changing the baseline: each difference is printed as the alert the plugin's \
            next scan would raise ("Kernel Module Configuration Changed While Unwatched"), \
            and standard error says how many names were scanned and how long it took.

            Needs root (the state directory is root's, mode 0700).

            Exit status: 0 when nothing differs; 1 when something does; 2 when there is no \
            baseline or it cannot be read.

            Examples:
              audisp-lkm baseline
              audisp-lkm baseline --format json
            """
    )

    @Option(help: ArgumentHelp("The configuration file (its rule and state_directory).", valueName: "file"))
    var config: String = PluginConfiguration.defaultPath

    @Option(name: .customLong("state-directory"), help: ArgumentHelp("The state directory, instead of the configuration's.", valueName: "dir"))
    var stateDirectory: String?

    @Option(help: "Output format: text (one key=value line each) or json (one ECS document each).")
    var format: OutputFormat = .text

    func run() throws {
        let (configuration, rule) = try PluginConfiguration.selected(config)
        guard let directory = stateDirectory ?? configuration.stateDirectory else {
            throw ValidationError("state_directory = none in \(config): there is no baseline")
        }
        let found: (stored: Baseline?, now: Baseline, changes: [UnwatchedChange], scanSeconds: Double)
        do {
            found = try BaselineStore(directory: directory).pendingChanges(places: LiveSystem.places(of: rule, usrMerge: configuration.usrMerge))
        } catch { throw ValidationError("\(error)") }
        guard let stored = found.stored else { throw ValidationError("no baseline in \(directory) yet: the plugin records it when it starts") }
        var output = StandardOutput()
        var formatter = LineFormatter(format: format)
        for change in found.changes { output.write(formatter.alert(change, rule: UnwatchedChangeRule.metadata)) }
        output.flush()
        StandardError.write("audisp-lkm: \(found.now.entries.count) names scanned in \(Int(found.scanSeconds * 1000)) ms; "
                            + "\(found.changes.count) differences from the baseline of \(Timestamp.iso8601(seconds: stored.recorded, milliseconds: 0))\n")
        if !found.changes.isEmpty { throw ExitCode(1) }
    }
}
