import AuditReading
import FileEvents
import HostFiles
import RuleEngine

/// The period report's state while logs stream through: every host's trail (what its
/// logs can vouch for), the totals, and each host's change times for the timeline. The
/// changes themselves are written out as they come (`ReportWriter`), so memory grows
/// with hosts, distinct names in the totals and changes' times, not with the logs.
public struct PeriodReport: Sendable {
    public let period: ReportPeriod
    /// The name of the host whose records carry no `node=` name.
    public let unnamedHost: String
    /// The places the rule covers, canonical: directories (a change of an entry counts)
    /// and files (`/etc/modules`).
    public let places: [RuleLocation]
    public let watchRemoval: WatchRemovalRule
    public private(set) var trails: [String: HostTrail] = [:]
    public private(set) var totals = ReportTotals()
    /// Per host, each change's time and decision, for the timeline (at most
    /// `timelineCapacity` per host).
    public private(set) var timeline: [String: [(time: Double, decision: String)]] = [:]
    public static let timelineCapacity = 100_000
    /// Events outside the period, and changes seen twice.
    public private(set) var outsidePeriod = 0
    public private(set) var duplicates = 0

    public init(period: ReportPeriod, places: [RuleLocation], watchKeys: [String], unnamedHost: String) {
        self.period = period
        self.places = places
        self.unnamedHost = unnamedHost
        watchRemoval = WatchRemovalRule(keys: watchKeys)
    }

    public func host(_ node: String?) -> String { node ?? unnamedHost }

    /// Notes every event the reader completes (its selector's view): the host's first and
    /// last record in the period.
    /// A host seen only outside the period gets a trail too: its silence in the period is
    /// a gap.
    public mutating func note(_ summary: EventSummary) {
        let time = ReportPeriod.time(seconds: summary.seconds, milliseconds: summary.milliseconds)
        let name = host(summary.node.map { String(decoding: $0, as: UTF8.self) })
        let startsDaemon = summary.firstType == .daemonStart
        guard period.contains(time) else {
            outsidePeriod += 1
            if trails[name] == nil && trails.count < Self.hostCapacity { trails[name] = HostTrail(host: name) }
            if let since = period.since, time < since {
                trails[name]?.noteBeforePeriod(time: time, startsDaemon: startsDaemon, disablesAuditing: summary.disablesAuditing)
            }
            return
        }
        if trails[name] == nil && trails.count >= Self.hostCapacity { return }
        trails[name, default: HostTrail(host: name)].note(time: time, startsDaemon: startsDaemon,
                                                          disablesAuditing: summary.disablesAuditing)
    }

    /// Hosts tracked at most (a log of invented node= names cannot grow the report).
    public static let hostCapacity = 10_000

    /// Reads an event's auditd records and rule changes into its host's trail; returns the
    /// rule changes that are alerts (a watch removed, auditing off).
    /// auditd's and the rules' marks are kept from before the period too (a watch removed
    /// earlier is still missing in it); the tampering alerts only within it.
    public mutating func noteRecords(of event: AuditEvent) -> [ReportedChange] {
        let stamp = event.timestamp
        let time = ReportPeriod.time(seconds: stamp.seconds, milliseconds: stamp.milliseconds)
        if let until = period.until, time >= until { return [] }
        let inPeriod = period.contains(time)
        let name = host(stamp.node)
        guard trails[name] != nil || trails.count < Self.hostCapacity else { return [] }
        var tampering: [ReportedChange] = []
        var eventID: String {
            var text: [UInt8] = []
            FileEvent.appendEventID(seconds: stamp.seconds, milliseconds: stamp.milliseconds, serial: stamp.serial, to: &text)
            return String(decoding: text, as: UTF8.self)
        }
        event.forEachRecord { record in
            let type = record.type
            guard type.isDaemonRecord else { return true }
            let kind: HostTrail.Mark.Kind? = switch type {
            case .daemonStart: .daemonStart
            case .daemonEnd: .daemonEnd
            case .daemonAbort: .daemonAbort
            case .daemonRotate: .rotate
            case .daemonResume: .resume
            case .daemonError: .daemonError
            default: nil
            }
            guard let kind else { return true }
            var words: [String] = []
            record.forEachTextField { field, value in
                if field.equals("op") || field.equals("res") || field.equals("reason") || field.equals("ver") {
                    words.append("\(field.string)=\(value.string)")
                }
            }
            trails[name, default: HostTrail(host: name)].add(HostTrail.Mark(kind: kind, time: time, eventID: eventID,
                                                                           detail: words.joined(separator: " ")))
            return true
        }
        for change in AuditRuleChange.all(in: event) where change.succeeded {
            let ours = change.keys.contains { watchRemoval.keys.contains($0) }
            let kind: HostTrail.Mark.Kind?
            if let enabled = change.auditEnabled {
                kind = enabled == 0 ? .auditingDisabled : .auditingEnabled
            } else if ours && change.operation == "add_rule" {
                kind = .watchAdded
            } else if ours && change.operation == "remove_rule" {
                kind = .watchRemoved
            } else {
                kind = nil
            }
            if let kind {
                let keys = change.keys.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ",")
                let detail = kind == .auditingDisabled || kind == .auditingEnabled
                    ? "audit_enabled=\(change.auditEnabled!)"
                    : "key \(keys) on the \(change.listName ?? "?") list" + (change.path.map { " (\($0.lossyText))" } ?? "")
                trails[name, default: HostTrail(host: name)].add(HostTrail.Mark(kind: kind, time: time, eventID: change.eventID, detail: detail))
            }
            if inPeriod && watchRemoval.matches(change) {
                let alert = ReportedChange(subject: .rules(change),
                                           decision: .alert(rule: WatchRemovalRule.metadata.name, undecided: false),
                                           place: change.path.map(\.lossyText) ?? "(audit rules)")
                tampering.append(alert)
            }
        }
        return tampering
    }

    /// The place `event` is in (its path or, for a rename out, its source), or nil when it
    /// is not in one or is outside the period. A file whose name the records do not give
    /// counts when its directory is a place, or it was logged for a detector's watch.
    public func place(of event: FileEvent) -> String? {
        guard period.contains(ReportPeriod.time(seconds: event.seconds, milliseconds: event.milliseconds)) else { return nil }
        if event.action == .directoryReplacement { return event.file.path.map(\.lossyText) }
        for file in [event.file, event.original].compactMap({ $0 }) {
            // An unknown name in a known directory: the directory followed by a `/`.
            if let path = file.path ?? file.directory.map({ $0 + "/" }), let found = place(containing: path) {
                return found
            }
            if file.watchedButUnknown { return "(a watched place)" }
        }
        return nil
    }

    private func place(containing path: RawPath) -> String? {
        let directory = path.directory
        for location in places {
            if location.isDirectory ? directory == location.path : path == location.path { return location.description }
        }
        return nil
    }

    /// Counts a change listed in the report.
    public mutating func count(_ change: ReportedChange) {
        let name = host(change.host)
        totals.add(change, host: name)
        if timeline[name, default: []].count < Self.timelineCapacity {
            timeline[name, default: []].append((change.time, change.decision.name))
        }
    }

    public mutating func countDuplicate() { duplicates += 1 }

    /// Whether `change` is listed: one seen before (overlapping inputs, a block of log
    /// repeated) is counted as a duplicate instead. The most recent `identityCapacity`
    /// identities are remembered.
    public mutating func admit(_ change: ReportedChange) -> Bool {
        var identity = "\(change.host ?? "")|\(change.eventID)|\(change.action)"
        if case .file(let event) = change.subject {
            identity += "|" + DisplayText.of(event.file.path ?? event.file.loggedName) + "|" + DisplayText.of(event.original?.path)
            identity += "|\(event.file.inode ?? 0)"
        }
        guard seen.insert(identity).inserted else { duplicates += 1; return false }
        if seenOrder.count < Self.identityCapacity {
            seenOrder.append(identity)
        } else {
            seen.remove(seenOrder[oldestSeen])
            seenOrder[oldestSeen] = identity
            oldestSeen = (oldestSeen + 1) % Self.identityCapacity
        }
        return true
    }

    public static let identityCapacity = 65_536
    private var seen = Set<String>()
    /// The remembered identities, a ring once full; `oldestSeen` is the next to forget.
    private var seenOrder: [String] = []
    private var oldestSeen = 0
}

/// Changes counted by host, place, login user, process, action and decision. Each tally
/// keeps at most `distinctCapacity` names and counts the rest under "(others)".
public struct ReportTotals: Sendable {
    public private(set) var changes = 0
    public private(set) var byHost = Tally()
    public private(set) var byPlace = Tally()
    public private(set) var byLoginUser = Tally()
    public private(set) var byProcess = Tally()
    public private(set) var byAction = Tally()
    public private(set) var byDecision = Tally()
    /// Alerts by the rule that raised them.
    public private(set) var byRule = Tally()
    /// Exclusions the program borrowed (`BorrowedExclusionRule` alerts on them).
    public private(set) var borrowed = 0
    /// Watch-removal alerts as bursts: the records of one login user on one host, each
    /// within `WatchRemovalBurst.gap` (2 s) of the one before (`auditctl -D` removes rules
    /// one by one), as the page lists them; and when each host's and user's last one came.
    public private(set) var tamperBursts = 0
    private var lastTamper: [String: Double] = [:]

    mutating func add(_ change: ReportedChange, host: String) {
        changes += 1
        byHost.add(host)
        byPlace.add(change.place)
        byLoginUser.add(change.loginUser)
        byProcess.add(change.process)
        byAction.add(change.action)
        byDecision.add(change.decision.name)
        switch change.decision {
        case .alert where { if case .rules = change.subject { true } else { false } }():
            let sender = host + "|" + change.loginUser
            if lastTamper[sender].map({ change.time - $0 > WatchRemovalBurst.gap }) ?? true { tamperBursts += 1 }
            if lastTamper[sender] != nil || lastTamper.count < Tally.distinctCapacity { lastTamper[sender] = change.time }
        case .alert(let rule, _): byRule.add(rule)
        case .excluded(_, let borrowed?) where !borrowed.isEmpty: self.borrowed += 1
        case .excluded, .none: break
        }
    }

    /// The tallies with their titles and JSON keys, in the order reports print them.
    public var all: [(title: String, key: StaticString, tally: Tally)] {
        [("decision", "decision", byDecision), ("action", "action", byAction), ("host", "host", byHost),
         ("place", "place", byPlace), ("login user", "login_user", byLoginUser), ("process", "process", byProcess)]
    }
}

public struct Tally: Sendable {
    public static let distinctCapacity = 1000
    public static let others = "(others)"
    private var counts: [String: Int] = [:]

    mutating func add(_ name: String) {
        if counts[name] != nil || counts.count < Self.distinctCapacity {
            counts[name, default: 0] += 1
        } else {
            counts[Self.others, default: 0] += 1
        }
    }

    /// Largest first, then by name.
    public var sorted: [(name: String, count: Int)] {
        counts.map { ($0.key, $0.value) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    }

    public func count(of name: String) -> Int { counts[name] ?? 0 }
}
