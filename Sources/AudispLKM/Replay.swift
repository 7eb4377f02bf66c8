import ArgumentParser
import AuditReading
import FileEvents
import OfflineReplay
import Outputs
import RuleEngine

/// `audisp-lkm replay`: reads audit logs offline.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read audit logs offline and print what they contain.",
        discussion: """
            Reads raw audit logs as auditd writes them (RAW or ENRICHED, with or without \
            node= prefixes), rotated and gzip-compressed copies, `ausearch --raw` output and \
            ausearch's default output. `ausearch -i` output is refused: it cannot be replayed \
            faithfully.

            Files are read in the order given, except that a rotation set is put oldest \
            first: `replay /var/log/audit/audit.log*` reads audit.log.4 ... audit.log.1, \
            audit.log.

            By default it prints one alert per file event the rule matches: Elastic's \
            "Loadable Kernel Module Configuration File Creation", version 1, built in; \
            --rule loads another detection-rules TOML file. An event seen twice (overlapping \
            inputs) alerts once. --explain adds, for every candidate (an event that passed \
            the rule's inclusions, such as the path patterns), a line saying what decided: \
            the pattern that matched, or the exclusion that removed it (with --format json, \
            a document of its own: {"audisp_lkm":{"explain":{...}}}).

            A file made through io_uring whose name the kernel did not log is judged from \
            its directory: it alerts, marked undecided (file.Ext.unresolved says why), \
            when the rule would match some name there and not others.

            A place the rule covers replaced wholesale (a directory renamed to its name, a \
            symbolic link made in its name) raises "Kernel Module Configuration Directory \
            Replaced" (MITRE T1547.006), naming what replaced it.

            An existing file in a place opened for writing, appended to or truncated raises \
            "Kernel Module Configuration File Modified": the rule's places and exclusions, \
            as if it were a creation (--no-modification-rule turns it off).

            Changes to the audit rules that remove watches with one of the --watch-key \
            keys (CONFIG_CHANGE op=remove_rule), or switch auditing off, raise one alert \
            per sender and burst, "Audit Watch on Kernel Module Configuration Removed" \
            (MITRE T1562.012): the login user, the program and its command line, the rules \
            removed per list, and whether they came back and by whom.

            --events prints every file event (creation or rename) the records describe \
            instead, whether or not it concerns kernel-module configuration.

            Standard error gets a summary at the end (records, events, file events, \
            unresolved paths, skipped lines) and, when it is a terminal, progress.

            Examples:
              audisp-lkm replay /var/log/audit/audit.log*
              audisp-lkm replay --explain --format text audit.log
              audisp-lkm replay --events /var/log/audit/audit.log*
              ausearch --raw -k lkm | audisp-lkm replay --events --format text
            """
    )

    @Flag(help: "Print every normalised file event (one per line) instead of alerts.")
    var events = false

    @Flag(help: "For every candidate event, print what decided it (one line each, in --format).")
    var explain = false

    @Flag(name: .customLong("no-modification-rule"),
          help: "Do not judge modifications of existing files (\"Kernel Module Configuration File Modified\").")
    var noModificationRule = false

    @Option(help: ArgumentHelp("Load this detection-rules TOML file instead of the built-in rule.", valueName: "file"))
    var rule: String?

    @Option(name: .customLong("max-alerts"),
            help: ArgumentHelp("Raise at most N alerts per group (host, program, directory) per --window, and summarise the rest (default: no cap).",
                               valueName: "n"))
    var maximumAlerts: Int?

    @Option(help: ArgumentHelp("The --max-alerts window, in seconds of log time.", valueName: "seconds"))
    var window: Double = 300

    @Option(help: ArgumentHelp("With --max-alerts: at most N alerts per window over all groups (default: none).",
                               valueName: "n"))
    var ceiling: Int?

    @Option(name: .customLong("summary-interval"),
            help: ArgumentHelp("With --max-alerts: seconds of log time between two summaries of a group's withheld alerts.",
                               valueName: "seconds"))
    var summaryInterval: Double = 60

    @Option(name: .customLong("watch-key"),
            help: ArgumentHelp("The key of the detector's audit watches: removing one alerts, and a file on such a watch whose path is unknown is judged undecided (repeatable).",
                               valueName: "key"))
    var watchKeys: [String] = ["audisp-lkm"]

    @Option(help: "Output format: json (one ECS document per line) or text (one key=value line).")
    var format: OutputFormat = .json

    @Option(name: .customLong("eoe-timeout"),
            help: ArgumentHelp("Seconds of log time after which an event with no end record is complete.",
                               valueName: "seconds"))
    var endOfEventTimeout: UInt64 = 2

    @Flag(name: .customLong("split-usr"),
          help: "The logs come from a system where /bin, /sbin and /lib* are not links into /usr.")
    var splitUsr = false

    @Argument(help: ArgumentHelp("Audit logs, plain or .gz; none or - reads standard input.", valueName: "file"))
    var files: [String] = []

    func validate() throws {
        if let maximumAlerts, maximumAlerts < 0 { throw ValidationError("--max-alerts must be 0 or more") }
        if let ceiling, ceiling < 0 { throw ValidationError("--ceiling must be 0 or more") }
        if ceiling != nil && maximumAlerts == nil { throw ValidationError("--ceiling goes with --max-alerts") }
        guard summaryInterval > 0 else { throw ValidationError("--summary-interval must be positive") }
        guard window > 0 else { throw ValidationError("--window must be positive") }
        if events && (explain || maximumAlerts != nil) {
            throw ValidationError("--events prints file events; --explain and --max-alerts are about alerts")
        }
    }

    func run() throws {
        let inputs: [LogInput]
        do { inputs = try ReplayInputs.open(files) } catch { throw ValidationError(error.description) }
        var job = ReplayJob(rule: try DetectionRule.selected(rule), watchKeys: watchKeys, usrMerge: UsrMerge(isMerged: !splitUsr))
        job.printsEvents = events
        job.explains = explain
        job.modificationRule = !noModificationRule
        job.cap = maximumAlerts.map {
            AlertCap.Settings(allowance: $0, window: window, ceiling: ceiling, summaryInterval: summaryInterval)
        }
        job.format = format
        job.endOfEventTimeout = endOfEventTimeout
        let complete: Bool
        do { complete = try job.run(inputs) } catch { throw ValidationError(error.description) }
        if !complete { throw ExitCode(2) }
    }
}

extension OutputFormat: ExpressibleByArgument {}
