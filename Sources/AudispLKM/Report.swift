import ArgumentParser
import PluginRuntime
import PlaceBaseline
import AuditReading
import Compliance
import FileEvents
import Glibc
import HostFiles
import OfflineReplay
import Outputs
import RuleEngine
import Settings

/// `audisp-lkm report`: the period's evidence from audit logs.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The period's evidence from audit logs: every change to kernel-module configuration, who made it, whether it alerted.",
        discussion: """
            Reads audit logs as replay does (every input it accepts; several hosts' logs, \
            told apart by their node= names) and lists every change under the places the \
            rule covers within the period:

              creation, rename      into a place (or out of one), with the rule's decision
              modification          an existing file opened for writing or truncating
              deletion              unlink, unlinkat
              attributes            chmod, chown, setxattr, utimes (by name)
              directory-replacement a place replaced wholesale (an alert)
              audit-watch-removed, auditing-disabled
                                    tampering with the watches (alerts)

            For each: time, host, event id (SEC.MSEC:SERIAL: `ausearch -a ID` finds its \
            records), action, path and former path, the system call (or io_uring \
            operation), the process as invoked with its pid and parent pid, the login \
            user (auid) and user, and the decision: alert, excluded (and the clause of \
            the rule that excluded it) or none (not a case of the rule).

            Then totals by decision, action, host, place, login user and process, and \
            what each host's logs can vouch for: its first and last record, gaps (auditd \
            stopped or aborted, a stop without an end record, logs before the first \
            record not given), auditd's own events (DAEMON_START, END, ABORT, ROTATE, \
            ERR), watches of the detector removed and added, and auditing switched off.

            What the records can show: modifications and attribute changes need the \
            dir= watches `audisp-lkm watches add` loads (install.sh does); changes made \
            through a descriptor alone (fchmod, ftruncate, write) name no file; io_uring \
            opens of existing files are not judged (their flags are not logged).

            --since and --until take ISO 8601 dates and date-times (2026-11-01, \
            2026-11-01T08:00:00Z, 2026-11-01 08:00; without a zone, local time) and \
            ausearch's words: now, recent (10 minutes ago), today, yesterday, this-week \
            (since Monday), week-ago, this-month, this-year. --since is included, \
            --until excluded.

            --host-state (on the live host) adds `check` and `inventory` to the same \
            document: one file answers what changed, what is configured now, and whether \
            the control is in place.

            Formats: text (tables), json (one ECS document per change, audisp_lkm.decision \
            beside it, then a summary document), csv (the changes, one row each, RFC \
            4180), html (one self-contained page to print or file: the answers first, a \
            timeline per host, every change with its event id).

            Examples:
              audisp-lkm report --since this-month /var/log/audit/audit.log*
              audisp-lkm report --host-state --format html -o evidence.html /var/log/audit/audit.log*
              audisp-lkm report --format csv --since 2026-10-01 --until 2026-11-01 fleet/*.log.gz
            """
    )

    @Option(help: ArgumentHelp("The period's start (included).", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("The period's end (excluded).", valueName: "time"))
    var until: String?

    @Option(help: "Output format: text, json, csv or html.")
    var format: EvidenceFormat = .text

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?

    @Flag(name: .customLong("host-state"), help: "Add this host's check and inventory (run on the live host, as root).")
    var hostState = false

    @Option(help: ArgumentHelp("With --host-state: the compliance profile of the inventory (a built-in name or a file).",
                               valueName: "profile"))
    var profile: String?

    @Option(help: ArgumentHelp("The name of the host whose records carry no node= name (default: this host with --host-state, else \"(unnamed)\").",
                               valueName: "name"))
    var host: String?

    @Option(help: ArgumentHelp("Load this detection-rules TOML file instead of the built-in rule.", valueName: "file"))
    var rule: String?

    @Option(name: .customLong("watch-key"), help: ArgumentHelp("The key of the detector's audit watches (repeatable).", valueName: "key"))
    var watchKeys: [String] = ["audisp-lkm"]

    @Option(help: ArgumentHelp("With --host-state: the plugin's configuration file, for check.", valueName: "file"))
    var config: String = PluginConfiguration.defaultPath

    @Flag(name: .customLong("split-usr"), help: "The logs come from a system where /bin, /sbin and /lib* are not links into /usr.")
    var splitUsr = false

    @Argument(help: ArgumentHelp("Audit logs, plain or .gz; none or - reads standard input.", valueName: "file"))
    var files: [String] = []

    func run() throws {
        let now = Double(time(nil))
        let period: ReportPeriod
        do {
            period = ReportPeriod(since: try since.map { try ReportPeriod.parse($0, now: now) },
                                  until: try until.map { try ReportPeriod.parse($0, now: now) })
        } catch {
            throw ValidationError("\(error)")
        }
        if let since = period.since, let until = period.until, until <= since {
            throw ValidationError("--until (\(isoTime(until))) is not after --since (\(isoTime(since)))")
        }
        var report = EvidenceReport(period: period, rule: try DetectionRule.selected(rule), watchKeys: watchKeys,
                                    usrMerge: UsrMerge(isMerged: !splitUsr))
        let loadedProfile = try ComplianceProfile.selected(profile)
        let inputs: [LogInput]
        do { inputs = try ReplayInputs.open(files) } catch { throw ValidationError(error.description) }
        // This host's checks and inventory, taken before the logs are read (a bad plugin
        // configuration is refused before anything is written).
        if hostState {
            let checks = try Check.results(config: config)
            report.hostState = HostState(checks: checks, inventory: Inventory.take(root: "/", locations: report.rule.locations,
                                                                                   profile: loadedProfile),
                                         baseline: try BaselineEvidence.onThisHost(config: config, rule: report.rule))
            // Its programs are this host's: a process.name exclusion is earned by the package database.
            report.programStanding = LiveSystem.programStanding()
        }
        // Records without node= name their host only when it is known: --host, or this host.
        report.knownHost = host ?? (hostState ? LocalHost.name : nil)
        let destination = try EvidenceOutput.selected(output)
        let complete: Bool
        do { complete = try report.run(inputs, format: format, to: destination, generated: now) } catch {
            throw ValidationError("\(error)")
        }
        if !complete { throw ExitCode(2) }
    }
}

extension EvidenceFormat: ExpressibleByArgument {}

extension BaselineEvidence {
    /// The places against the baseline the plugin keeps in the configuration's state
    /// directory; nil when there is none (or it is `none`), or it cannot be read (`check`
    /// says why).
    static func onThisHost(config: String, rule: DetectionRule) throws -> BaselineEvidence? {
        let (configuration, _) = try PluginConfiguration.selected(config)
        guard let directory = configuration.stateDirectory,
              let found = try? BaselineStore(directory: directory).pendingChanges(places: LiveSystem.places(of: rule, usrMerge: configuration.usrMerge)),
              let stored = found.stored else { return nil }
        return BaselineEvidence(recorded: stored.recorded, changes: found.changes)
    }
}
