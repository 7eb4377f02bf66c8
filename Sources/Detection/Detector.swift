import AuditReading
import FileEvents
import RuleEngine
import Synchronization
import HostFiles

/// The one pipeline from audit events to findings, which the plugin, `replay` and
/// `report` consume: select (which events libauparse parses), normalise (file events),
/// evaluate (the rule, once per event), cap (live alert floods), and the project's own
/// rules beside the rule (watch removal, directory replacement).
///
/// Feed it with `reader(endOfEventTimeout:observe:emit:)` (one thread), through a
/// `DetectionPipeline` (replay: selecting and parsing on one thread, processing on
/// another), or call `disposition` and `process` from a reader of one's own. What only a
/// live host can answer comes in as a `LiveHost`; offline there is none.
///
/// Its tables, each bounded, each with a cost per event that does not grow with it: the
/// directories known (`PathResolver`, 65,536, a hash look-up per PATH item), the
/// processes (`ProcessTable`, 65,536 per table, a look-up per event), the file events
/// waiting for a directory (`WaitingEvents`, 4,096, indexed by that directory), the
/// alerted identities (`AlertedEvents`, 65,536, a set), the alert cap's groups
/// (`AlertCap`, 4,096 per window), and, in the reader, the held exec events (8 MiB, by
/// process), the open events (100,000, by identity; 4,096 records and 8 MiB each) and the
/// selection's outstanding events (one batch; on two threads two, up to 34 with many
/// directories known).
public final class Detector {
    /// What the events are read for, which decides what is parsed and what is a file event.
    public enum Purpose: Sendable {
        /// Alerts: a file event the rule cannot match need not be parsed. Changes to
        /// existing names in the places are file events too: a modification is judged by
        /// `ModificationRule`, and the live baseline follows every change.
        case alerts
        /// Every file event (creations and renames), whatever the rule says of it.
        case fileEvents
        /// The compliance report: changes to existing names are file events too, and
        /// auditd's own records are parsed.
        case changes
    }

    public struct Settings: Sendable {
        public var rule: DetectionRule
        /// The keys of the detector's audit watches: removing one alerts, and an
        /// unresolved file on one is in a place.
        public var watchKeys: [String]
        public var usrMerge: UsrMerge
        public var purpose: Purpose
        /// The alert cap; nil for none.
        public var cap: AlertCap.Settings?
        /// Whether modifications in place are judged by `ModificationRule` (alerts, report).
        public var modificationRule: Bool
        /// Offline, what a package database says of an executable (`report --host-state`
        /// on the host the logs come from); nil: its location alone. Live, the host says.
        public var programStanding: (@Sendable (_ executable: RawPath) -> ProgramStanding)?

        public init(rule: DetectionRule, watchKeys: [String], usrMerge: UsrMerge, purpose: Purpose,
                    cap: AlertCap.Settings? = nil, modificationRule: Bool = true,
                    programStanding: (@Sendable (_ executable: RawPath) -> ProgramStanding)? = nil) {
            self.rule = rule
            self.watchKeys = watchKeys
            self.usrMerge = usrMerge
            self.purpose = purpose
            self.cap = cap
            self.modificationRule = modificationRule
            self.programStanding = programStanding
        }
    }

    public private(set) var settings: Settings
    private let host: LiveHost?
    private var normalizer: FileEventNormalizer
    private var engine: RuleEngine
    /// The rule again, judging modifications as if they were creations (`ModificationRule`).
    private var modificationEngine: RuleEngine
    private var selection: EventSelection?
    private var watchRemoval: WatchRemovalRule
    private var cap: AlertCap?
    /// The counts of rules and caps replaced by `reconfigure`.
    private var retiredRuleStatistics = RuleStatistics()
    private var retiredCapStatistics = AlertCap.Statistics()
    private var retiredModificationAlerts = 0
    /// Events excluded through borrowed clauses (`BorrowedExclusionRule` alerts).
    public private(set) var borrowedExclusions = 0
    /// Watch-removal bursts completed (each one alert).
    public private(set) var watchRemovals = 0
    /// The open bursts of watch removals, by sender, with when each last grew (live, the
    /// host's monotonic clock; offline, stream time). Bound: one per sender, closed
    /// `WatchRemovalBurst.gap` seconds after its last change.
    private var bursts: [BurstSender: (burst: WatchRemovalBurst, touched: Double)] = [:]

    private struct BurstSender: Hashable, Comparable {
        var node: String?
        var auditID: UInt64?
        var session: UInt64?
        var pid: Int?

        init(_ change: AuditRuleChange) {
            (node, auditID, session, pid) = (change.node, change.auditID, change.session, change.pid)
        }

        /// By host name, then login user, session and process; unknown first.
        static func < (left: BurstSender, right: BurstSender) -> Bool {
            (left.node ?? "", left.auditID ?? 0, left.session ?? 0, left.pid ?? -1)
                < (right.node ?? "", right.auditID ?? 0, right.session ?? 0, right.pid ?? -1)
        }
    }
    public private(set) var directoryReplacements = 0
    /// The project's own rules' alerts already raised (watch removals, directory
    /// replacements), so that an event read twice (overlapping inputs) alerts once, as the
    /// rule's own alerts do (`RuleEngine`'s `AlertedEvents`).
    private var ownAlerts = AlertedEvents()

    /// Files a replaced place holds that are examined at most (live).
    public static let broughtFilesLimit = 256

    public init(settings: Settings, host: LiveHost? = nil) {
        self.settings = settings
        self.host = host
        normalizer = FileEventNormalizer(rule: settings.rule, usrMerge: settings.usrMerge, watchKeys: settings.watchKeys)
        normalizer.reportsChanges = settings.purpose != .fileEvents
        engine = RuleEngine(rule: settings.rule)
        modificationEngine = RuleEngine(rule: settings.rule)
        selection = settings.purpose == .alerts
            ? EventSelection(rule: settings.rule, usrMerge: settings.usrMerge, watchKeys: settings.watchKeys) : nil
        watchRemoval = WatchRemovalRule(keys: settings.watchKeys)
        cap = settings.cap.map(AlertCap.init(settings:))
        if let host { connect(host) }
    }

    /// The rule in force.
    public var rule: DetectionRule { engine.rule }

    /// What decided `verdict` for `event`, as clauses of the rule (`RuleEngine.explanation`).
    public func explanation(of verdict: RuleEngine.Verdict, for event: FileEvent) -> [String] {
        engine.explanation(of: verdict, for: event)
    }

    // MARK: Reading

    /// A reader whose events go through this detector, each finding to `emit`. `observe`
    /// sees every complete event's summary first, and `before` every parsed event (the
    /// report's host trails).
    public func reader(endOfEventTimeout: UInt64 = 2, observe: ((EventSummary) -> Void)? = nil,
                       before: ((AuditEvent) -> Void)? = nil, emit: @escaping (Finding) -> Void) -> AuditLogReader {
        AuditLogReader(endOfEventTimeout: endOfEventTimeout, selector: { [unowned self] summary in
            observe?(summary)
            return disposition(summary)
        }) { [unowned self] event in
            before?(event)
            process(event, emit: emit)
        }
    }

    /// What the reader does with an event, judged from its records before libauparse
    /// parses it: `FileEventNormalizer.interest`, auditd's own records for the report,
    /// and for alerts `EventSelection`'s skip.
    public func disposition(_ summary: EventSummary) -> EventDisposition {
        let interest = FileEventNormalizer.interest(summary)
        if settings.purpose == .changes {
            return summary.firstType?.isDaemonRecord == true ? .parse : interest.disposition(changes: true)
        }
        let disposition = interest.disposition(changes: settings.purpose == .alerts)
        guard disposition == .parse, selection != nil, !summary.isConfigChange else { return disposition }
        // A change to existing names only (no name made): parsed when it may be in a place.
        if interest == .change && !selection!.mayChangePlace(summary) {
            return .skip
        }
        if selection!.canSkip(summary, resolver: adoptedResolver ?? normalizer.paths) { return .skip }
        selection!.selected(summary)
        return .parse
    }

    /// Everything `event` shows, to `emit`, in the order it happened.
    public func process(_ event: AuditEvent, emit: (Finding) -> Void) {
        defer {
            let stamp = event.timestamp
            let processed = EventSelection.EventStamp(seconds: stamp.seconds, milliseconds: stamp.milliseconds,
                                                      serial: stamp.serial, node: stamp.node)
            if processedSinceHandOver != nil { processedSinceHandOver!.append(processed) } else { selection?.processed(processed) }
        }
        if !bursts.isEmpty, host == nil {
            let stamp = event.timestamp
            closeBursts(node: stamp.node, before: Double(stamp.seconds) + Double(stamp.milliseconds) / 1000, emit: emit)
        }
        for change in AuditRuleChange.all(in: event) {
            var removesWatch = watchRemoval.matches(change)
            if removesWatch {
                // Told apart by what they say: the same record read twice (overlapping
                // inputs, whose copies may even join one open event) is one alert.
                let what = "\(change.operation ?? "")|\(change.list ?? -1)|\(change.auditEnabled ?? 2)|"
                removesWatch = firstOwnAlert("watch-removal", node: change.node, seconds: change.seconds, id: change.appendEventID,
                                             telling: [Array(what.utf8), Array(change.keys.joined(separator: [0x01])), change.path?.bytes ?? []])
            }
            let touched = host?.now() ?? change.time
            if removesWatch {
                let sender = BurstSender(change)
                var open = bursts[sender] ?? (WatchRemovalBurst(first: change), touched)
                open.burst.add(change, removes: true)
                open.touched = touched
                bursts[sender] = open
            } else if change.addsRule, change.keys.contains(where: watchRemoval.keys.contains) {
                for sender in bursts.keys where sender.node == change.node {
                    bursts[sender]!.burst.add(change, removes: false)
                    bursts[sender]!.touched = touched
                }
            }
            emit(.ruleChange(change, removesWatch: removesWatch))
        }
        var replaced: [RawPath] = []
        normalizer.normalize(event) { fileEvent in
            if fileEvent.action == .directoryReplacement, let place = fileEvent.file.path { replaced.append(place) }
            handle(fileEvent, emit: emit)
        }
        // Live, after the normaliser is done with the event: a replaced place's identity
        // is read again, so that files made in it, under whatever name, keep its path.
        if let host, !replaced.isEmpty {
            for found in host.directories(replaced) { normalizer.paths.remember(directory: found.path, as: found.key) }
        }
    }

    /// End of input: the file events still waiting leave unresolved, and the cap says
    /// what it withheld.
    public func finish(emit: (Finding) -> Void) {
        normalizer.finish { handle($0, emit: emit) }
        closeBursts(node: nil, before: .infinity, allNodes: true, emit: emit)
        flushCap(emit: emit)
    }

    /// Live: the watch-removal bursts and the cap's summaries due now.
    public func tick(emit: (Finding) -> Void) {
        guard let host else { return }
        closeBursts(node: nil, before: host.now(), allNodes: true, emit: emit)
        guard var current = cap else { return }
        for summary in current.dueSummaries(at: host.now()) { emit(.capSummary(summary)) }
        cap = current
    }

    /// Emits, oldest first, the bursts of `node` (or of every node) whose last change is
    /// more than `WatchRemovalBurst.gap` seconds before `time`.
    private func closeBursts(node: String?, before time: Double, allNodes: Bool = false, emit: (Finding) -> Void) {
        let done = bursts.filter { (allNodes || $0.key.node == node) && $0.value.touched + WatchRemovalBurst.gap < time }
        guard !done.isEmpty else { return }
        for sender in done.keys { bursts[sender] = nil }
        // Oldest first; bursts of cloned hosts can start in the same millisecond, and the
        // table's order changes from run to run, so the sender breaks ties.
        for (_, open) in done.sorted(by: { ($0.value.burst.first.time, $0.key) < ($1.value.burst.first.time, $1.key) }) {
            watchRemovals += 1
            emit(.watchRemoval(open.burst))
        }
    }

    /// A new rule, watch keys and cap (the plugin's SIGHUP). What the stream has taught
    /// (directories, processes, file events waiting) is kept; a changed cap first says
    /// what the old one withheld.
    public func reconfigure(rule: DetectionRule, watchKeys: [String], cap newCap: AlertCap.Settings?, emit: (Finding) -> Void) {
        retiredRuleStatistics.add(engine.statistics)
        retiredModificationAlerts += modificationEngine.statistics.alerts
        engine = RuleEngine(rule: rule)
        modificationEngine = RuleEngine(rule: rule)
        let earlier = selection
        selection = settings.purpose == .alerts ? EventSelection(rule: rule, usrMerge: settings.usrMerge, watchKeys: watchKeys) : nil
        if let earlier { selection?.takeOutstanding(from: earlier) }
        watchRemoval = WatchRemovalRule(keys: watchKeys)
        normalizer.watchKeys = Set(watchKeys.map { Array($0.utf8) })
        normalizer.paths.places = Set(rule.placeDirectories(usrMerge: settings.usrMerge))
        if cap?.settings != newCap {
            flushCap(emit: emit)
            cap = newCap.map(AlertCap.init(settings:))
        }
        settings.rule = rule
        settings.watchKeys = watchKeys
        settings.cap = newCap
        if let host { connect(host) }
    }

    // MARK: Findings

    private func handle(_ fileEvent: FileEvent, emit: (Finding) -> Void) {
        guard fileEvent.action != .directoryReplacement else {
            // Not through the cap: rare, and its groups and summaries are the file rule's.
            guard firstOwnAlert("directory-replacement", node: fileEvent.node, seconds: fileEvent.seconds,
                                id: fileEvent.appendEventID, telling: [fileEvent.file.path?.bytes ?? []]) else { return }
            directoryReplacements += 1
            emit(.directoryReplacement(fileEvent))
            for brought in broughtFiles(fileEvent, emit: emit) { judge(brought, emit: emit) }
            return
        }
        judge(fileEvent, emit: emit)
    }

    /// Whether the project's own `rule` has not yet alerted on this host's event (`id`
    /// writes its id), told apart from its other alerts by `parts`; it is remembered.
    private func firstOwnAlert(_ rule: String, node: String?, seconds: Int, id: (inout [UInt8]) -> Void,
                               telling parts: [[UInt8]]) -> Bool {
        var eventID: [UInt8] = []
        id(&eventID)
        let identity = AlertedEvents.identity([Array(rule.utf8), Array((node ?? "").utf8), eventID] + parts)
        return ownAlerts.insert(identity: identity, seconds: seconds)
    }

    private func judge(_ fileEvent: FileEvent, emit: (Finding) -> Void) {
        if fileEvent.action == .modification && settings.modificationRule {
            let verdict = modificationEngine.evaluate(ModificationRule.asCreation(fileEvent))
            let withheld = verdict.raisesAlert && !admittedByCap(fileEvent, emit: emit)
            emit(.modification(fileEvent, verdict, withheld: withheld))
            return
        }
        let verdict = settings.purpose == .alerts && fileEvent.action.isChange ? .notCandidate : engine.evaluate(fileEvent)
        let withheld = verdict.raisesAlert && !admittedByCap(fileEvent, emit: emit)
        emit(.file(fileEvent, verdict, withheld: withheld))
        let clauses = exclusionClauses(of: fileEvent, verdict: verdict)
        if BorrowedExclusionRule.isBorrowed(clauses) {
            borrowedExclusions += 1
            emit(.borrowedExclusion(fileEvent, clauses, withheld: !admittedByCap(fileEvent, emit: emit)))
        }
    }

    /// For an excluded event, each clause of the rule's that excluded it, earned or not
    /// (`BorrowedExclusionRule`); none for another verdict. Live, the host says what an
    /// executable is; offline, its location does.
    public func exclusionClauses(of event: FileEvent, verdict: RuleEngine.Verdict) -> [BorrowedExclusionRule.Clause] {
        guard case .excluded(let index) = verdict else { return [] }
        return BorrowedExclusionRule.clauses(of: event, exclusion: engine.exclusion(index),
                                             standing: host?.programStanding ?? settings.programStanding ?? ProgramStanding.byLocation)
    }

    /// Whether the alert cap lets an alert on `fileEvent` out (always, without a cap).
    private func admittedByCap(_ fileEvent: FileEvent, emit: (Finding) -> Void) -> Bool {
        guard var current = cap else { return true }
        // Live, the monotonic clock; offline, the event's own time.
        let time = host?.now() ?? fileEvent.time
        for summary in current.dueSummaries(at: time) { emit(.capSummary(summary)) }
        let admitted = current.admit(fileEvent, at: time) { emit(.notice($0)) }
        cap = current
        return admitted
    }

    /// Live: the files a replaced place holds now, each as the rename that brought it
    /// there from what replaced the place (a renamed directory, a link's target), with the
    /// replacing process: the alerts their creation there would have raised. At most
    /// `broughtFilesLimit` are read, the rest said in a notice.
    private func broughtFiles(_ replacement: FileEvent, emit: (Finding) -> Void) -> [FileEvent] {
        guard let host, let place = replacement.file.path, replacement.node == nil else { return [] }
        let (names, more) = host.entries(place, Self.broughtFilesLimit)
        if more {
            emit(.notice("\(place.lossyText) holds more than \(Self.broughtFilesLimit) entries "
                         + "since it was replaced; only the first were examined"))
        }
        return names.map { name in
            var brought = replacement
            brought.action = .rename
            brought.file = EventFile(path: place.appending(name: name), name: name, loggedName: RawPath(bytes: name))
            brought.original = replacement.original?.path.map { source in
                EventFile(path: source.appending(name: name), name: name)
            }
            return brought
        }
    }

    private func flushCap(emit: (Finding) -> Void) {
        guard var current = cap else { return }
        for summary in current.flush() { emit(.capSummary(summary)) }
        retiredCapStatistics.add(current.statistics)
        cap = nil
    }

    // MARK: Two threads (`DetectionPipeline`)

    /// What the selection knows of the processing when the two run on different threads:
    /// the path resolver as it was when the selecting thread last adopted a hand-over, and
    /// (the processing thread's) the events processed since its last hand-over. Both nil
    /// on one thread, where the selection reads the normaliser's resolver and hears of each
    /// event as it is processed.
    private var adoptedResolver: PathResolver?
    private var processedSinceHandOver: [EventSelection.EventStamp]?
    private var batchesSinceHandOver = 0
    private var directoriesPerHandOverBatch = 2048

    /// What the processing thread tells the selecting one after a batch of events.
    /// Sendable by discipline: offline, the resolver holds no closures (those ask a live
    /// host), and each thread's later changes copy the tables it shares (copy on write).
    struct HandOver: @unchecked Sendable {
        var resolver: PathResolver
        var processed: [EventSelection.EventStamp]
    }

    /// Before the second thread starts: selection and processing go separate ways.
    func beginHandOvers(directoriesPerBatch: Int) {
        adoptedResolver = normalizer.paths
        processedSinceHandOver = []
        batchesSinceHandOver = 0
        directoriesPerHandOverBatch = max(1, directoriesPerBatch)
    }

    /// Processing thread, after a batch: what it has learned and processed since its last
    /// hand-over, or nil while it holds back. A hand-over shares the resolver's tables, so
    /// the next change here copies them whole: it is made after every batch while they are
    /// small, and every `count / 2,048` batches beyond, so that the copying costs about the
    /// same per batch however large they grow (up to 65,536 directories). The events not
    /// yet handed over stay outstanding for the selection, which parses what they may
    /// change, as it parses a directory it does not know.
    func handOver() -> HandOver? {
        batchesSinceHandOver += 1
        guard batchesSinceHandOver >= normalizer.paths.count / directoriesPerHandOverBatch else { return nil }
        batchesSinceHandOver = 0
        defer { processedSinceHandOver = [] }
        return HandOver(resolver: normalizer.paths, processed: processedSinceHandOver ?? [])
    }

    /// Selecting thread: takes in a hand-over, the batches' order kept.
    func adopt(_ handOver: HandOver) {
        for stamp in handOver.processed { selection?.processed(stamp) }
        adoptedResolver = handOver.resolver
    }

    /// After the second thread has ended: one thread again.
    func endHandOvers() {
        adoptedResolver = nil
        processedSinceHandOver = nil
    }

    // MARK: The live host

    /// Seeds the path resolver with the places (and their parents) as they are now, so
    /// that a creation relative to a directory descriptor resolves from the first event,
    /// and lets the normaliser ask the host what the records leave out: those directories
    /// again when a descriptor's is unknown (made or replaced since), and the name of a
    /// file io_uring made.
    private func connect(_ host: LiveHost) {
        let places = settings.rule.placeDirectories(usrMerge: settings.usrMerge)
        normalizer.paths.places = Set(places)
        var seen = Set<RawPath>()
        let directories = (places + places.map(\.directory)).filter { seen.insert($0).inserted }
        for found in host.directories(directories) { normalizer.paths.remember(directory: found.path, as: found.key) }
        // At most every 50 ms: a flood of events in unknown directories must not turn into
        // a flood of stat calls.
        let recent = Mutex<(time: Double, found: [(path: RawPath, key: DirectoryKey)])>((-1, []))
        normalizer.paths.lookUpDirectories = {
            let now = host.now()
            return recent.withLock { cached in
                if now - cached.time >= 0.05 { cached = (now, host.directories(directories)) }
                return cached.found
            }
        }
        normalizer.recoverNames = host.namesOfInode
        normalizer.waitsForDirectories = false
    }

    // MARK: State

    /// What the normaliser saw.
    public var normalizing: NormalizerStatistics { normalizer.statistics }

    /// The rule's counts, over every rule in force since the start.
    public var ruleStatistics: RuleStatistics {
        var total = retiredRuleStatistics
        total.add(engine.statistics)
        return total
    }

    /// The cap's counts, over every cap in force since the start.
    public var capStatistics: AlertCap.Statistics {
        var total = retiredCapStatistics
        if let cap { total.add(cap.statistics) }
        return total
    }

    /// The sizes of its tables, for the state report.
    public var knownDirectories: Int { normalizer.paths.count }
    public var directoryLookUps: Int { normalizer.paths.statistics.fileSystemLookUps }
    public var knownProcesses: Int { normalizer.processes.count }
    public var alertedIdentities: Int { engine.alertedCount }
    /// `ModificationRule`'s alerts (before the cap), over every rule in force since the start.
    public var modificationAlerts: Int { retiredModificationAlerts + modificationEngine.statistics.alerts }
}

extension AlertCap.Statistics {
    mutating func add(_ other: AlertCap.Statistics) {
        withheldByGroup += other.withheldByGroup
        withheldByCeiling += other.withheldByCeiling
        summaries += other.summaries
        ceilingReached += other.ceilingReached
    }
}

extension RuleStatistics {
    mutating func add(_ other: RuleStatistics) {
        events += other.events
        candidates += other.candidates
        excluded += other.excluded
        alerts += other.alerts
        undecided += other.undecided
        duplicates += other.duplicates
    }
}
