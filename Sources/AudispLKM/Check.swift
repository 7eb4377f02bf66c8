import ArgumentParser
import Compliance
import Glibc
import HostFiles
import AuditControl
import Settings
import RuleEngine

/// `audisp-lkm check`: the proof that the control is in place on this host, one line per
/// fact, with the fix for every failure.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove the control is in place: auditd, the watches, the plugin, the output, what could drop records.",
        discussion: """
            One line per check, PASS, WARN or FAIL, and under every WARN and FAIL the fix:

              configuration, rule  the plugin's configuration (errors name the line) and rule
              settings/rule file   FAIL when not root's or writable by group or others (the
                                   plugin refuses to start on them)
              baseline             the state directory (root's, 0700) and the baseline of
                                   the places in it (WARN when absent or state_directory = none)
              auditd               running (the kernel's auditd pid is a live auditd)
              auditing             on; locked with -e 2 or not (WARN: root can remove watches)
              lost records         the kernel's lost counter since boot
              backlog              the kernel's backlog limit (WARN below 8192)
              watch PLACE          every place the rule covers, on the 64- and 32-bit system
                                   call tables and the io_uring list (FAIL when missing), and
                                   for an existing directory its dir= watch (WARN when
                                   missing: writes to existing files are not recorded); a
                                   place that is a symbolic link FAILS
              plugin conf/binary   /etc/audit/plugins.d/audisp-lkm.conf active, root-owned,
                                   not world-writable, running this binary
              plugin               alive under auditd, and its state report answers SIGUSR1
              output               syslog's socket accepts a connection, or the file is
                                   writable
              disk_full_action, q_depth, overflow_action
                                   auditd.conf settings under which records are dropped

            Needs root (the kernel's rules and status, the plugin's signal).

            Exit status: 0 when nothing FAILS (warnings allowed); 1 when something fails; 2 \
            when the configuration or rule is unusable.
            """
    )

    @Option(help: ArgumentHelp("The configuration file.", valueName: "file"))
    var config: String = PluginConfiguration.defaultPath

    @Option(help: "Output format: text (one line per check) or json (one document).")
    var format: CheckFormat = .text

    enum CheckFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    func run() throws {
        let results = try Self.results(config: config)
        switch format {
        case .text: print(HostStateEvidence.checkText(results), terminator: "")
        case .json: print(String(decoding: HostStateEvidence.checkJSON(results, time: Double(time(nil)), host: LocalHost.name), as: UTF8.self))
        }
        if results.contains(where: { $0.status == .fail }) { throw ExitCode(1) }
    }

    /// Every check, for `config`; a configuration or rule that does not load is a
    /// `ValidationError` (status 2).
    static func results(config: String) throws -> [CheckResult] {
        let configuration: PluginConfiguration
        let text: String
        do {
            let loaded = try PluginConfiguration.load(path: config, required: config != PluginConfiguration.defaultPath)
            text = "\(config): \(loaded == nil ? "absent, defaults apply" : "valid")"
            configuration = loaded ?? PluginConfiguration()
        } catch {
            throw ValidationError(error.description)
        }
        let rule: DetectionRule
        do { rule = try configuration.loadRule() } catch { throw ValidationError(error.description) }
        return HostChecks.run(configuration: configuration, rule: rule, configurationPath: config, configurationText: text)
    }
}
