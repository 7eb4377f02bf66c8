import ArgumentParser
import AuditReading
import Compliance
import Detection
import FileEvents
import Glibc
import HostFiles
import AuditControl
import Settings
import RuleEngine

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
        let detectionRule = try DetectionRule.selected(rule)
        let loadedProfile = try ComplianceProfile.selected(profile)
        let inputs = try ReplayInputs.open(files)
        // This host's checks and inventory, taken before the logs are read (a bad plugin
        // configuration is refused before anything is written).
        var state: HostState?
        if hostState {
            let checks = try Check.results(config: config)
            state = HostState(checks: checks, inventory: Inventory.take(root: "/", locations: detectionRule.locations, profile: loadedProfile))
        }
        let destination = try EvidenceOutput.selected(output)

        let detector = Detector(settings: Detector.Settings(rule: detectionRule, watchKeys: watchKeys,
                                                            usrMerge: UsrMerge(isMerged: !splitUsr), purpose: .changes))
        // Records without node= name their host only when it is known: --host, or this host.
        let knownHost = host ?? (hostState ? LocalHost.name : nil)
        let unnamedHost = knownHost ?? "(unnamed)"
        var report = PeriodReport(period: period, places: detectionRule.locations, watchKeys: watchKeys, unnamedHost: unnamedHost)
        let writer: ReportWriter
        do { writer = try ReportWriter(format: format, output: destination, rule: detectionRule, unnamedHost: unnamedHost) } catch {
            destination.discard()
            throw ValidationError("\(error)")
        }
        let replacementRule = DirectoryReplacementRule.metadata.name

        /// Lists a change once (a duplicate is counted instead) and counts it.
        func list(_ change: ReportedChange) {
            guard report.admit(change) else { return }
            writer.write(change)
            report.count(change)
        }
        func handle(_ finding: Finding) {
            var event: FileEvent
            let decision: ReportedChange.Decision
            switch finding {
            case .directoryReplacement(let replacement):
                event = replacement
                decision = .alert(rule: replacementRule, undecided: false)
            case .file(let fileEvent, let verdict, _):
                event = fileEvent
                switch verdict {
                case .alert: decision = .alert(rule: detectionRule.name, undecided: false)
                case .undecided: decision = .alert(rule: detectionRule.name, undecided: true)
                case .excluded: decision = .excluded(clause: detector.explanation(of: verdict, for: event).joined(separator: " and "))
                case .notCandidate: decision = .none
                case .duplicate:
                    if report.place(of: event) != nil { report.countDuplicate() }
                    return
                }
            case .ruleChange, .capSummary, .notice:
                // Rule changes are read with auditd's own records (`noteRecords`); no cap.
                return
            }
            if event.node == nil { event.node = knownHost }
            guard let place = report.place(of: event) else { return }
            list(ReportedChange(subject: .file(event), decision: decision, place: place))
        }
        let reader = detector.reader(observe: { report.note($0) }, before: { event in
            for var change in report.noteRecords(of: event) {
                if case .rules(var rules) = change.subject, rules.node == nil {
                    rules.node = knownHost
                    change.subject = .rules(rules)
                }
                list(change)
            }
        }, emit: handle)
        let complete: Bool
        do { complete = try ReplayInputs.read(inputs, with: reader) } catch {
            destination.discard()
            throw error
        }
        reader.finish()
        detector.finish(emit: handle)

        do {
            try writer.finish(report, inputs: inputs.map(\.name), generated: now, hostState: state)
        } catch {
            throw ValidationError(error.description)
        }
        let totals = report.totals
        StandardError.write("audisp-lkm report: \(inputs.count) input\(inputs.count == 1 ? "" : "s"), \(reader.statistics.records) records: "
                            + "\(totals.changes) changes (\(totals.byDecision.count(of: "alert")) alert, "
                            + "\(totals.byDecision.count(of: "excluded")) excluded, \(totals.byDecision.count(of: "none")) none) "
                            + "on \(report.trails.count) host\(report.trails.count == 1 ? "" : "s")"
                            + (report.duplicates > 0 ? "; \(report.duplicates) seen twice" : "")
                            + (report.outsidePeriod > 0 ? "; \(report.outsidePeriod) events outside the period" : "")
                            + "; skipped \(reader.statistics.malformedLines) malformed and \(reader.statistics.overlongLines) overlong lines\n")
        if !complete { throw ExitCode(2) }
    }
}

extension EvidenceFormat: ExpressibleByArgument {}
