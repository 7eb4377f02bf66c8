import FileEvents

/// Decides, as Elastic Security would, which file events are alerts, once each.
///
/// The rule's top-level conditions joined by `and` are split into inclusions (the event
/// kind, paths) and exclusions (`not (...)`). An event that passes every inclusion is a
/// *candidate*; a candidate that an exclusion removes is *excluded*; the rest alert. One
/// alert per event: the same event seen twice (overlapping inputs, repeated blocks)
/// alerts once, as Elastic's deterministic alert ids make it.
///
/// An event with unknown fields (a name io_uring did not log, a watched route's directory
/// never named, io_uring work by a program no record names) is evaluated in three-valued
/// logic (`Condition.decide`): what is known decides what it can; an event the rule might
/// match depending on what is unknown is *undecided* and alerts, saying so, rather than
/// passing silently.
public struct RuleEngine: Sendable {
    public let rule: DetectionRule
    public private(set) var statistics = RuleStatistics()
    private let inclusions: [Condition]
    private let exclusions: [Condition]
    private var alerted: AlertedEvents

    /// What decided an event.
    public enum Verdict: Equatable, Sendable {
        case notCandidate
        /// Removed by the exclusion at this index of the rule's `not (...)` clauses.
        case excluded(exclusion: Int)
        case alert
        /// Alerts: the rule might match, depending on a name the kernel did not log.
        case undecided
        case duplicate

        /// Whether the event is raised as an alert.
        public var raisesAlert: Bool { self == .alert || self == .undecided }
    }

    /// `identityWindow` and `identityCapacity` bound the memory of alerted events.
    public init(rule: DetectionRule, identityWindow: Int = AlertedEvents.defaultWindow,
                identityCapacity: Int = AlertedEvents.defaultCapacity) {
        self.rule = rule
        alerted = AlertedEvents(window: identityWindow, capacity: identityCapacity)
        let parts: [Condition]
        if case .all(let conditions) = rule.condition { parts = conditions } else { parts = [rule.condition] }
        inclusions = parts.filter { if case .not = $0 { return false } else { return true } }
        exclusions = parts.compactMap { if case .not(let inner) = $0 { return inner } else { return nil } }
    }

    /// The rule's `not (...)` clause at `index` (an `excluded` verdict's).
    public func exclusion(_ index: Int) -> Condition { exclusions[index] }

    /// The number of alerted events remembered (bounded: `AlertedEvents`).
    public var alertedCount: Int { alerted.count }

    public mutating func evaluate(_ event: FileEvent) -> Verdict {
        statistics.events += 1
        var verdict = decide(event)
        // Directories the kernel's order may have swapped: the other reading counts too.
        if event.file.hasAlternative || event.original?.hasAlternative == true {
            var other = event
            other.file.swapAlternative()
            other.original?.swapAlternative()
            let otherVerdict = decide(other)
            // Certain only where both readings are: both alert, or neither can.
            if verdict.raisesAlert || otherVerdict.raisesAlert, verdict != .alert || otherVerdict != .alert {
                verdict = .undecided
            }
        }
        switch verdict {
        case .notCandidate, .duplicate: return verdict
        case .excluded: statistics.candidates += 1; statistics.excluded += 1; return verdict
        case .alert, .undecided: statistics.candidates += 1
        }
        guard alerted.insert(event) else {
            statistics.duplicates += 1
            return .duplicate
        }
        statistics.alerts += 1
        if verdict == .undecided { statistics.undecided += 1 }
        return verdict
    }

    /// The verdict on `event` alone, counting nothing.
    private func decide(_ event: FileEvent) -> Verdict {
        if event.hasUnknownFields {
            let included = Condition.kleene(inclusions.lazy.map { $0.decide(event) }, deciding: false)
            guard included != false else { return .notCandidate }
            let exclusionVerdicts = exclusions.map { $0.decide(event) }
            if let exclusion = exclusionVerdicts.firstIndex(of: true) { return .excluded(exclusion: exclusion) }
            return included == nil || exclusionVerdicts.contains(nil) ? .undecided : .alert
        }
        guard inclusions.allSatisfy({ $0.matches(event) }) else { return .notCandidate }
        if let exclusion = exclusions.firstIndex(where: { $0.matches(event) }) { return .excluded(exclusion: exclusion) }
        return .alert
    }

    /// What decided `verdict` for `event`, as clauses written in the query: for an alert the
    /// inclusions (with the path pattern that matched), for an exclusion the parts of it that
    /// matched. Computed only when asked (`--explain`), off the evaluation path.
    public func explanation(of verdict: Verdict, for event: FileEvent) -> [String] {
        switch verdict {
        case .alert: inclusions.flatMap { $0.reasons(event) }
        case .undecided: ["the verdict depends on what the records do not say: " + Self.unknowns(of: event)]
        case .excluded(let index): exclusions[index].reasons(event)
        case .notCandidate, .duplicate: []
        }
    }
}

extension RuleEngine {
    /// What is unknown of `event`, in words.
    static func unknowns(of event: FileEvent) -> String {
        var parts: [String] = []
        if event.file.isUnknown { parts.append(event.file.directory == nil ? "the file's directory" : "the file's name") }
        if event.original?.isUnknown == true { parts.append("the rename's source") }
        if event.process.executableUnknown { parts.append("the program") }
        return parts.joined(separator: ", ")
    }
}

/// Counts for the end-of-run summary.
public struct RuleStatistics: Sendable {
    public init() {}
    /// File events evaluated.
    public var events = 0
    /// Events that passed every inclusion.
    public var candidates = 0
    /// Candidates an exclusion removed.
    public var excluded = 0
    public var alerts = 0
    /// Alerts raised on files whose name was unknown and might have decided otherwise.
    public var undecided = 0
    /// Alerts not raised again for an event already alerted on.
    public var duplicates = 0
}
