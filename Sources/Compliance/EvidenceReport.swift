import AuditReading
import Detection
import FileEvents
import HostFiles
import OfflineReplay
import Outputs
import RuleEngine

/// `report`'s work: audit logs through the detector (`Detector.Purpose.changes`), every
/// change under the places with its decision written as it comes, then the totals and
/// what each host's logs can vouch for (`PeriodReport`), and a summary on standard error.
public struct EvidenceReport {
    public var period: ReportPeriod
    public var rule: DetectionRule
    public var watchKeys: [String]
    public var usrMerge: UsrMerge
    /// The name of the host whose records carry no `node=` name, when it is known (`--host`,
    /// or this host with `--host-state`); otherwise they are "(unnamed)".
    public var knownHost: String?
    /// This host's checks and inventory, added to the same document.
    public var hostState: HostState?
    /// What this host's package database says of an executable a `process.name` exclusion
    /// names (`BorrowedExclusionRule`), with `--host-state`; nil: its location alone.
    public var programStanding: (@Sendable (_ executable: RawPath) -> ProgramStanding)?

    public init(period: ReportPeriod, rule: DetectionRule, watchKeys: [String], usrMerge: UsrMerge) {
        self.period = period
        self.rule = rule
        self.watchKeys = watchKeys
        self.usrMerge = usrMerge
    }

    /// Writes the report of `inputs` in `format` to `destination`, dated `generated`; false
    /// when an input could not be read whole (said on standard error; the others are still
    /// read). An error (an unusable input, a write that failed) leaves no partial file.
    public func run(_ inputs: [LogInput], format: EvidenceFormat, to destination: EvidenceOutput, generated: Double) throws -> Bool {
        let (detectionRule, knownHost) = (rule, knownHost)
        let detector = Detector(settings: Detector.Settings(rule: rule, watchKeys: watchKeys, usrMerge: usrMerge, purpose: .changes,
                                                            programStanding: programStanding))
        let unnamedHost = knownHost ?? "(unnamed)"
        var report = PeriodReport(period: period, places: detectionRule.locations, watchKeys: watchKeys, unnamedHost: unnamedHost)
        let writer: ReportWriter
        do { writer = try ReportWriter(format: format, output: destination, rule: detectionRule, unnamedHost: unnamedHost) } catch {
            destination.discard()
            throw error
        }
        let replacementRule = DirectoryReplacementRule.metadata.name
        let modificationRule = ModificationRule.metadata.name

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
            case .file(let fileEvent, let verdict, _), .modification(let fileEvent, let verdict, _):
                event = fileEvent
                let (ruleName, judged) = fileEvent.action == .modification
                    ? (modificationRule, ModificationRule.asCreation(fileEvent)) : (detectionRule.name, fileEvent)
                switch verdict {
                case .alert: decision = .alert(rule: ruleName, undecided: false)
                case .undecided: decision = .alert(rule: ruleName, undecided: true)
                case .excluded:
                    let clauses = fileEvent.action == .modification ? [] : detector.exclusionClauses(of: fileEvent, verdict: verdict)
                    decision = .excluded(clause: detector.explanation(of: verdict, for: judged).joined(separator: " and "),
                                         borrowed: BorrowedExclusionRule.isBorrowed(clauses)
                                            ? clauses.compactMap(\.borrowedBecause).joined(separator: "; ") : nil)
                case .notCandidate: decision = .none
                case .duplicate:
                    if report.place(of: event) != nil { report.countDuplicate() }
                    return
                }
            case .ruleChange, .watchRemoval, .capSummary, .notice, .borrowedExclusion:
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

        try writer.finish(report, inputs: inputs.map(\.name), generated: generated, hostState: hostState)
        let totals = report.totals
        StandardError.write("audisp-lkm report: \(inputs.count) input\(inputs.count == 1 ? "" : "s"), \(reader.statistics.records) records: "
                            + "\(totals.changes) changes (\(totals.byDecision.count(of: "alert")) alert, "
                            + "\(totals.byDecision.count(of: "excluded")) excluded, \(totals.byDecision.count(of: "none")) none) "
                            + "on \(report.trails.count) host\(report.trails.count == 1 ? "" : "s")"
                            + (report.duplicates > 0 ? "; \(report.duplicates) seen twice" : "")
                            + (report.outsidePeriod > 0 ? "; \(report.outsidePeriod) events outside the period" : "")
                            + "; skipped \(reader.statistics.malformedLines) malformed and \(reader.statistics.overlongLines) overlong lines\n")
        return complete
    }
}
