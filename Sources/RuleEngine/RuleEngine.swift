import FileEvents

/// Decides, as Elastic Security would, which file events are alerts, once each.
///
/// The rule's top-level conditions joined by `and` are split into inclusions (the event
/// kind, paths) and exclusions (`not (...)`). An event that passes every inclusion is a
/// *candidate*; a candidate that an exclusion removes is *excluded*; the rest alert. One
/// alert per event: the same event seen twice (overlapping inputs, repeated blocks)
/// alerts once, as Elastic's deterministic alert ids make it.
public struct RuleEngine: Sendable {
    public let rule: DetectionRule
    public private(set) var statistics = RuleStatistics()
    private let inclusions: [Condition]
    private let exclusions: [Condition]
    private var alerted: Set<EventIdentity> = []

    /// What decided an event.
    public enum Verdict: Equatable, Sendable {
        case notCandidate
        /// Removed by the exclusion at this index of the rule's `not (...)` clauses.
        case excluded(exclusion: Int)
        case alert
        case duplicate
    }

    private struct EventIdentity: Hashable, Sendable {
        var node: String?
        var eventID: String
        var path: [UInt8]?
    }

    public init(rule: DetectionRule) {
        self.rule = rule
        let parts: [Condition]
        if case .all(let conditions) = rule.condition { parts = conditions } else { parts = [rule.condition] }
        inclusions = parts.filter { if case .not = $0 { return false } else { return true } }
        exclusions = parts.compactMap { if case .not(let inner) = $0 { return inner } else { return nil } }
    }

    public mutating func evaluate(_ event: FileEvent) -> Verdict {
        statistics.events += 1
        guard inclusions.allSatisfy({ $0.matches(event) }) else { return .notCandidate }
        statistics.candidates += 1
        if let exclusion = exclusions.firstIndex(where: { $0.matches(event) }) {
            statistics.excluded += 1
            return .excluded(exclusion: exclusion)
        }
        // An exchange rename makes two file events of one audit event: the path tells them apart.
        guard alerted.insert(EventIdentity(node: event.node, eventID: event.eventID, path: event.file.path)).inserted else {
            statistics.duplicates += 1
            return .duplicate
        }
        statistics.alerts += 1
        return .alert
    }

    /// What decided `verdict` for `event`, as clauses written in the query: for an alert the
    /// inclusions (with the path pattern that matched), for an exclusion the parts of it that
    /// matched. Computed only when asked (`--explain`), off the evaluation path.
    public func explanation(of verdict: Verdict, for event: FileEvent) -> [String] {
        switch verdict {
        case .alert: inclusions.flatMap { $0.reasons(event) }
        case .excluded(let index): exclusions[index].reasons(event)
        case .notCandidate, .duplicate: []
        }
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
    /// Alerts not raised again for an event already alerted on.
    public var duplicates = 0
}
