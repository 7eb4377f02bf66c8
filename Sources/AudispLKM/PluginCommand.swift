import ArgumentParser
import Glibc
import Outputs
import PluginRuntime
import Settings

/// `audisp-lkm` with no subcommand: the audisp plugin, as auditd runs it.
struct PluginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugin",
        abstract: "Run as auditd's plugin: records on standard input, alerts out (the default).",
        discussion: """
            auditd starts this from /etc/audit/plugins.d/audisp-lkm.conf with an empty \
            environment and feeds it every record on standard input (`format = string`). \
            Alerts go to syslog (default: authpriv.warning, tag audisp-lkm), a file or \
            standard output, as configured in \(PluginConfiguration.defaultPath); messages \
            about the plugin itself go to syslog as daemon.* and to standard error.

            A reader thread drains standard input into a bounded queue so auditd is never \
            kept waiting; when the queue is full, records are dropped and counted. Alerts \
            wait for a slow output in a second bounded queue; when it is full they are \
            withheld, counted, and the count is written to the output once it recovers.

            Signals:
              SIGHUP   reload the configuration and the rule (a bad one is reported and
                       the running one kept) and reopen the output file (logrotate)
              SIGUSR1  write the state report (state_file, default /run/audisp-lkm.state)
              SIGTERM  finish the queued records and exit, when sent by auditd (the
                       parent); from anyone else it is ignored and counted
            End of standard input also finishes and exits; the state report is written \
            at exit.

            Settings (`key = value`, one per line, # comments; the defaults shown):
            \(PluginConfiguration.keys.map { "  \("\($0.key) = \($0.default)".padding(36))\($0.help)" }.joined(separator: "\n"))

            Try it by hand on a recorded log, alerts on standard output:
              echo 'output = stdout' > /tmp/lkm.conf
              audisp-lkm --config /tmp/lkm.conf < Tests/Fixtures/kernel/x86_64-i386.log
            """
    )

    @Option(help: ArgumentHelp("The configuration file (plugin conf: args = --config FILE).", valueName: "file"))
    var config: String?

    func run() throws {
        if isatty(STDIN_FILENO) == 1 {
            StandardError.report("reading audit records from standard input, as auditd feeds its plugins "
                                 + "(Ctrl-D ends; see audisp-lkm --help)")
        }
        let plugin = Plugin(configurationPath: config ?? PluginConfiguration.defaultPath, required: config != nil)
        let status = plugin.run()
        if status != 0 { throw ExitCode(status) }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
