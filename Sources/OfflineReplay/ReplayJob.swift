import AuditReading
import Detection
import FileEvents
import Outputs
import RuleEngine

/// `replay`'s work: audit logs through the detector, its findings to standard output as
/// alerts (or every file event), the counts to standard error.
public struct ReplayJob {
    public var rule: DetectionRule
    public var watchKeys: [String]
    public var usrMerge: UsrMerge
    /// Every file event instead of alerts.
    public var printsEvents = false
    /// For every candidate, what decided it.
    public var explains = false
    public var cap: AlertCap.Settings?
    /// Whether modifications in place are judged by `ModificationRule`.
    public var modificationRule = true
    public var format: OutputFormat = .json
    public var endOfEventTimeout: UInt64 = 2

    public init(rule: DetectionRule, watchKeys: [String], usrMerge: UsrMerge) {
        self.rule = rule
        self.watchKeys = watchKeys
        self.usrMerge = usrMerge
    }

    /// Reads `inputs`; false when one could not be read whole (it is said on standard
    /// error, and the others are still read). Throws only for `ausearch -i` output.
    public func run(_ inputs: [LogInput]) throws(ReplayInputError) -> Bool {
        let detector = Detector(settings: Detector.Settings(rule: rule, watchKeys: watchKeys, usrMerge: usrMerge,
                                                            purpose: printsEvents ? .fileEvents : .alerts, cap: cap,
                                                            modificationRule: modificationRule))
        var output = StandardOutput()
        var formatter = LineFormatter(format: format)
        let (rule, printEvents, explain) = (rule, printsEvents, explains)
        var modifications = 0
        func handle(_ finding: Finding) {
            switch finding {
            case .file(let event, _, _) where printEvents, .directoryReplacement(let event) where printEvents:
                output.write(formatter.event(event))
            case .file(let event, let verdict, let withheld):
                if explain, let line = Explanation.line(for: event, verdict: verdict, detector: detector, formatter: &formatter) {
                    output.write(line)
                }
                if verdict.raisesAlert && !withheld { output.write(formatter.alert(event, rule: rule)) }
            case .modification(let event, let verdict, let withheld):
                if explain, let line = Explanation.line(for: ModificationRule.asCreation(event), verdict: verdict, detector: detector,
                                                        formatter: &formatter) {
                    output.write(line)
                }
                if verdict.raisesAlert && !withheld {
                    modifications += 1
                    output.write(formatter.alert(event, rule: ModificationRule.metadata))
                }
            case .borrowedExclusion(let event, let clauses, let withheld):
                if !withheld && !printEvents { output.write(formatter.alert(event, rule: BorrowedExclusionRule.metadata, borrowed: clauses)) }
            case .directoryReplacement(let event):
                output.write(formatter.alert(event, rule: DirectoryReplacementRule.metadata))
            case .ruleChange:
                break
            case .watchRemoval(let burst):
                if !printEvents { output.write(formatter.alert(burst, rule: WatchRemovalRule.metadata)) }
            case .capSummary(let summary):
                output.write(formatter.summary(summary, rule: rule))
            case .notice(let message):
                output.write(formatter.notice(message))
            }
        }
        // Two cores: this thread reads and has libauparse parse, a second detects and prints.
        let pipeline = DetectionPipeline(detector: detector, endOfEventTimeout: endOfEventTimeout, emit: handle)
        let reader = pipeline.reader!
        let complete: Bool
        do { complete = try ReplayInputs.read(inputs, with: reader) } catch {
            pipeline.abandon()
            throw error
        }
        pipeline.finish()
        output.flush()
        let capStatistics = detector.capStatistics
        ReplaySummary.print(reading: reader.statistics, normalizing: detector.normalizing,
                            rule: printsEvents ? nil : detector.ruleStatistics,
                            withheld: capStatistics.withheldByGroup + capStatistics.withheldByCeiling,
                            watchesRemoved: detector.watchRemovals, replacements: detector.directoryReplacements,
                            modifications: modifications, borrowed: detector.borrowedExclusions, inputs: inputs.count)
        return complete
    }
}

/// The end-of-run counts on standard error.
enum ReplaySummary {
    static func print(reading: ReadStatistics, normalizing: NormalizerStatistics, rule: RuleStatistics?,
                      withheld: Int, watchesRemoved: Int, replacements: Int, modifications: Int, borrowed: Int, inputs: Int) {
        var line = "audisp-lkm: \(inputs) input\(inputs == 1 ? "" : "s"): \(reading.records) records, "
            + "\(reading.events) events (\(reading.parsedEvents) parsed), "
            + "\(normalizing.fileEvents) file events"
            + " (\(normalizing.unresolvedPaths) with unresolved paths"
            + (normalizing.resolvedLater > 0 ? ", \(normalizing.resolvedLater) resolved when the stream named their directory later" : "")
            + ")"
            + "; skipped \(reading.malformedLines) malformed and \(reading.overlongLines) overlong lines"
        if let rule {
            line += "; \(rule.candidates) candidates, \(rule.alerts) alerts, \(rule.excluded) excluded"
            if rule.undecided > 0 { line += " (\(rule.undecided) undecided: the records do not say all the rule tests)" }
            if rule.duplicates > 0 { line += ", \(rule.duplicates) duplicates not alerted again" }
            if borrowed > 0 { line += ", \(borrowed) excluded through borrowed clauses (alerts)" }
            if watchesRemoved > 0 { line += ", \(watchesRemoved) watch-removal alerts" }
            if modifications > 0 { line += ", \(modifications) modification alerts (files changed in place)" }
            if replacements > 0 {
                line += ", \(replacements) directory replacements (the files they brought are not in the records: live, the plugin lists them)"
            }
            if withheld > 0 { line += ", \(withheld) withheld by --max-alerts and summarised" }
        }
        if normalizing.uringEvents > 0 {
            line += "; \(normalizing.uringEvents) io_uring operations"
            if normalizing.uringEventsWithoutProcess > 0 { line += " (\(normalizing.uringEventsWithoutProcess) with no known program)" }
        }
        if normalizing.incompleteEvents > 0 { line += "; \(normalizing.incompleteEvents) events missing PATH records" }
        if reading.forcedCompletions > 0 { line += "; \(reading.forcedCompletions) events closed early (too many open)" }
        if reading.recordsBeyondEventLimits > 0 {
            line += "; \(reading.recordsBeyondEventLimits) records left out of events past their limits (records, PATH records or bytes)"
        }
        StandardError.write(line + "\n")
    }
}

/// `--explain` lines: what decided each candidate event.
enum Explanation {
    /// nil for an event that is no candidate.
    static func line(for event: FileEvent, verdict: RuleEngine.Verdict, detector: Detector,
                     formatter: inout LineFormatter) -> [UInt8]? {
        func reasons() -> [UInt8] { Array(detector.explanation(of: verdict, for: event).joined(separator: " and ").utf8) }
        switch verdict {
        case .notCandidate:
            return nil
        case .alert:
            return formatter.explanation(event, verdict: "alert", details: [("matched", reasons())])
        case .undecided:
            return formatter.explanation(event, verdict: "undecided", details: [("directory", event.file.directory?.bytes), ("because", reasons())])
        case .excluded:
            // Each excluding clause, and whether the program earned it (BorrowedExclusionRule).
            let earned = detector.exclusionClauses(of: event, verdict: verdict).map { clause in
                clause.text + (clause.borrowedBecause.map { ": borrowed (\($0))" } ?? ": earned")
            }
            return formatter.explanation(event, verdict: "excluded",
                                         details: [("by", reasons()), ("earned", Array(earned.joined(separator: "; ").utf8))])
        case .duplicate:
            return formatter.explanation(event, verdict: "duplicate", details: [])
        }
    }
}
