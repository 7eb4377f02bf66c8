import ArgumentParser
import Settings

/// `audisp-lkm manual 8|5`: the man pages audisp-lkm(8) and audisp-lkm.conf(5), written
/// from the commands' own `--help` and the settings table, so the package's manual and
/// the command's help are one text. Not listed in `--help`: packaging uses it.
struct Manual: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the man page audisp-lkm(8) or audisp-lkm.conf(5) in roff.",
        shouldDisplay: false
    )

    @Argument(help: "8 for audisp-lkm(8), 5 for audisp-lkm.conf(5).")
    var section: Int

    func validate() throws {
        guard section == 8 || section == 5 else { throw ValidationError("section 8 or 5") }
    }

    func run() throws {
        print(section == 8 ? Self.commandPage : Self.settingsPage, terminator: "")
    }

    /// Text as roff: backslashes escaped, a leading `.` or `'` kept literal.
    static func roff(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            let escaped = line.split(separator: "\\", omittingEmptySubsequences: false).joined(separator: "\\e")
            return escaped.hasPrefix(".") || escaped.hasPrefix("'") ? "\\&" + escaped : escaped
        }.joined(separator: "\n")
    }

    /// A command's `--help`, preformatted.
    static func help(_ command: ParsableCommand.Type) -> String {
        ".nf\n" + roff(AudispLKM.helpMessage(for: command, columns: 78)) + "\n.fi\n"
    }

    static var commandPage: String {
        let commands: [(String, ParsableCommand.Type)] = [
            ("plugin", PluginCommand.self), ("replay", Replay.self), ("report", Report.self),
            ("inventory", InventoryCommand.self), ("check", Check.self), ("baseline", BaselineCommand.self),
            ("watches", Watches.self),
        ]
        var page = """
            .TH AUDISP-LKM 8 "" "audisp-lkm" "System Administration"
            .SH NAME
            audisp-lkm \\- detect kernel-module persistence in Linux audit records
            .SH SYNOPSIS
            .B audisp-lkm
            [\\fIcommand\\fR] [\\fIoptions\\fR]
            .SH DESCRIPTION

            """
        page += help(AudispLKM.self)
        for (name, command) in commands {
            page += ".SH \(name.uppercased())\n" + help(command)
        }
        page += """
            .SH FILES
            .TP
            .I /etc/audit/audisp-lkm.conf
            settings, see \\fBaudisp-lkm.conf\\fR(5)
            .TP
            .I /etc/audit/plugins.d/audisp-lkm.conf
            auditd's plugin entry
            .TP
            .I /etc/audit/rules.d/50-audisp-lkm.rules
            the audit watches
            .TP
            .I /var/log/audisp-lkm/alerts.json
            the alerts, written by rsyslog (the package's /etc/rsyslog.d/30-audisp-lkm.conf)
            .SH SEE ALSO
            \\fBaudisp-lkm.conf\\fR(5), \\fBauditd\\fR(8), \\fBauditd.conf\\fR(5), \\fBauditctl\\fR(8), \\fBausearch\\fR(8)

            """
        return page
    }

    static var settingsPage: String {
        var page = """
            .TH AUDISP-LKM.CONF 5 "" "audisp-lkm" "File Formats"
            .SH NAME
            audisp-lkm.conf \\- settings of the audisp-lkm plugin
            .SH DESCRIPTION
            \\fI\(PluginConfiguration.defaultPath)\\fR holds \\fBkey = value\\fR lines, as auditd's own files do;
            \\fB#\\fR starts a comment. An unknown key or a bad value is refused with its line
            number, at start and on SIGHUP (which then keeps the running settings).
            \\fBaudisp-lkm check\\fR validates the file.
            .SH SETTINGS

            """
        for (key, value, help) in PluginConfiguration.keys {
            page += ".TP\n.B \(key)\n\(roff(help)) (default: \\fB\(roff(value))\\fR)\n"
        }
        page += """
            .SH SEE ALSO
            \\fBaudisp-lkm\\fR(8), \\fBauditd.conf\\fR(5)

            """
        return page
    }
}
