import ArgumentParser
import Glibc
import Outputs

/// `audisp-lkm`: detects loadable-kernel-module persistence in Linux audit records.
@main
struct AudispLKM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audisp-lkm",
        abstract: "Detect kernel-module persistence (T1547.006) in Linux audit records.",
        discussion: """
            Reproduces Elastic Security's rule "Loadable Kernel Module Configuration File \
            Creation" on the kernel's own audit records: files created in, or renamed into, \
            /etc/modprobe.d, /etc/modules-load.d, /etc/modules and their /run and /usr/lib \
            twins.

            Records are read with libauparse, regrouped into events, and turned into file \
            events with Elastic Defend's field meanings (see docs/design.md).

            Without a subcommand it is the audisp plugin (`audisp-lkm plugin`), as auditd \
            runs it; `replay` reads logs offline. For auditors: `report` is a period's \
            evidence from the logs, `inventory` the module configuration as it stands, \
            `check` the proof that the control is in place, `baseline` what changed in the \
            places that no record has explained yet. `watches` loads the watches no rules \
            file can hold.

            Exit status: 0 on success whatever was found; 2 on unusable input or arguments, \
            with a one-line reason on standard error.
            """,
        subcommands: [PluginCommand.self, Replay.self, Report.self, InventoryCommand.self, Check.self, BaselineCommand.self, Watches.self, Manual.self],
        defaultSubcommand: PluginCommand.self
    )

    /// Runs the command. Every failure, bad arguments included, exits with status 2 and
    /// one line on standard error; `--help` prints the manual and exits 0.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let status as ExitCode {
            Glibc.exit(status.rawValue)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            let firstLine = fullMessage(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            StandardError.report("\(firstLine.replacingPrefix("Error: ", with: "")) (see audisp-lkm --help)")
            Glibc.exit(2)
        }
    }
}

extension String {
    fileprivate func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
