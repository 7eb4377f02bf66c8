import ArgumentParser
import HostFiles
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

    /// A command's manual entry from its own `--help` (as ArgumentParser lays it out): the
    /// abstract and discussion as paragraphs (indented lines, such as examples, kept as
    /// they are), the usage line, and a `.TP` entry per argument and option.
    static func entry(_ command: ParsableCommand.Type) -> String {
        let help = HelpText(AudispLKM.helpMessage(for: command, columns: 1000))
        var page = help.overview.map { ".PP\n" + roff($0) + "\n" } ?? ""
        page += paragraphs(help.discussion)
        if let usage = help.usage { page += ".PP\n.B Usage:\n" + roff(usage) + "\n" }
        for (title, entries) in help.lists where !entries.isEmpty {
            page += ".PP\n.I \(roff(title.capitalized)):\n"
            for entry in entries {
                page += ".TP\n" + boldNames(entry.names) + "\n" + roff(entry.help) + "\n"
            }
        }
        return page
    }

    /// Blank-line separated paragraphs: prose as `.PP`, indented blocks kept as written.
    static func paragraphs(_ text: String) -> String {
        text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { block in
            let lines = block.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.dropFirst().contains(where: { $0.hasPrefix("  ") }) || lines.first?.hasPrefix("  ") == true {
                let head = lines.first.map { $0.hasPrefix("  ") ? "" : ".PP\n" + roff(String($0)) + "\n" } ?? ""
                let body = lines.first?.hasPrefix("  ") == true ? lines : Array(lines.dropFirst())
                return head + ".RS 2\n.nf\n" + roff(body.map { String($0.drop { $0 == " " }.isEmpty ? $0 : $0) }.joined(separator: "\n")) + "\n.fi\n.RE\n"
            }
            return ".PP\n" + roff(block) + "\n"
        }.joined()
    }

    /// `-h, --help` or `--format <format>`: names in bold, values in italics.
    static func boldNames(_ names: String) -> String {
        names.split(separator: " ").map { word in
            word.hasPrefix("<") ? "\\fI" + roff(String(word.dropFirst().dropLast(word.hasSuffix(">,") ? 2 : 1))) + "\\fR" + (word.hasSuffix(">,") ? "," : "")
                : "\\fB" + roff(String(word)) + "\\fR"
        }.joined(separator: " ")
    }

    static var commandPage: String {
        let commands: [(String, ParsableCommand.Type)] = [
            ("plugin", PluginCommand.self), ("replay", Replay.self), ("report", Report.self),
            ("inventory", InventoryCommand.self), ("check", Check.self), ("baseline", BaselineCommand.self),
            ("watches", Watches.self),
        ]
        let root = HelpText(AudispLKM.helpMessage(for: AudispLKM.self, columns: 1000))
        var page = """
            .TH AUDISP-LKM 8 "" "audisp-lkm" "System Administration"
            .SH NAME
            audisp-lkm \\- detect kernel-module persistence in Linux audit records
            .SH SYNOPSIS
            .B audisp-lkm
            [\\fIcommand\\fR] [\\fIoptions\\fR]
            .SH DESCRIPTION

            """
        page += (root.overview.map { ".PP\n" + roff($0) + "\n" } ?? "") + paragraphs(root.discussion)
        page += ".SH COMMANDS\n"
        for (name, command) in commands {
            page += ".SS \(name)\n" + entry(command)
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
            .I /var/lib/audisp-lkm/baseline
            the baseline of the places (root's, mode 0600)
            .TP
            .I /run/audisp-lkm.state
            the state report, written on SIGUSR1 and at exit
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

/// A `--help` text as ArgumentParser lays it out: `OVERVIEW:`, the discussion, `USAGE:`,
/// then `ARGUMENTS:`, `OPTIONS:` and `SUBCOMMANDS:` lists whose entries start two spaces in
/// (the name, then the help from column 26, or on the next lines when the name is long).
struct HelpText {
    var overview: String?
    var discussion = ""
    var usage: String?
    var lists: [(title: String, entries: [(names: String, help: String)])] = []

    init(_ text: String) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)[...]
        if let first = lines.first, first.hasPrefix("OVERVIEW: ") {
            var overviewLines = [String(first.dropFirst(10))]
            lines = lines.dropFirst()
            while let line = lines.first, !line.isEmpty {
                overviewLines.append(line)
                lines = lines.dropFirst()
            }
            overview = overviewLines.joined(separator: " ")
        }
        var discussionLines: [String] = []
        while let line = lines.first, !line.hasPrefix("USAGE: ") {
            discussionLines.append(line)
            lines = lines.dropFirst()
        }
        discussion = discussionLines.joined(separator: "\n").trimmed("\n")
        var usageLines: [String] = []
        while let line = lines.first, !line.isEmpty {
            usageLines.append(line.hasPrefix("USAGE: ") ? String(line.dropFirst(7)) : line.trimmed(" "))
            lines = lines.dropFirst()
        }
        usage = usageLines.isEmpty ? nil : usageLines.joined(separator: " ")
        for line in lines {
            if line.hasSuffix(":"), !line.hasPrefix(" ") {
                lists.append((String(line.dropLast()), []))
            } else if line.hasPrefix("  "), !line.hasPrefix("   "), !lists.isEmpty {
                let body = line.dropFirst(2)
                let split = body.firstRange(of: "  ")
                let names = split.map { String(body[..<$0.lowerBound]) } ?? String(body)
                let help = split.map { body[$0.upperBound...].trimmed(" ") } ?? ""
                lists[lists.count - 1].entries.append((names, help))
            } else if line.hasPrefix("   "), !lists.isEmpty, var last = lists[lists.count - 1].entries.popLast() {
                last.help += (last.help.isEmpty ? "" : " ") + line.trimmed(" ")
                lists[lists.count - 1].entries.append(last)
            }
        }
    }
}
