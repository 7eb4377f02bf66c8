import AuditControl
import AuditReading
import Detection
import FileEvents
import Glibc
import HostFiles
import Outputs
import PlaceBaseline
import RuleEngine
import Settings
import Synchronization
import Threads

/// The audisp plugin: auditd's record stream on standard input, alerts out.
///
/// Three threads besides the signal thread: `InputPump` drains stdin into a bounded
/// queue; this one (the caller's) regroups, normalises and evaluates; `AlertDispatcher`
/// writes to the output. Only the first touches auditd, and it never waits for the
/// others, so a slow rule or a stuck syslog cannot stall auditd.
public final class Plugin {
    private let configurationPath: String
    private let configurationRequired: Bool
    private let diagnostics: Diagnostics
    private let signals = SignalWatcher()
    private var configuration = PluginConfiguration()
    private var detector: Detector!
    /// File events, alerts and withheld alerts per host (node=), for the state report.
    private var hostCounts = HostCounts()
    /// When to add removed watches again (monotonic seconds): a second after the last
    /// removal seen, so that `auditctl -D` or `augenrules --load` has finished.
    private var rearmDue: Double?
    private var watchesRearmed = 0
    private var rearmFailures = 0
    private var formatter = LineFormatter(format: .text)
    /// Places now symbolic links or mounts, found while an event is processed, followed
    /// once the detector is done with it.
    private var replaced: [FileEvent] = []
    /// The baseline of the places and what changed unseen; nil with `state_directory = none`.
    private var reconciler: Reconciler?
    /// Modification alerts waiting (until monotonic `due`) for the writer to finish, so
    /// that they carry the content after.
    private var heldModifications: [(event: FileEvent, due: Double)] = []
    /// What the last poll of the kernel and the mounts found.
    private var lastLost: UInt32?
    private var lastDropped = 0
    private var placeMounts: PlaceMounts?
    private var lastPoll = 0.0
    private var reader: AuditLogReader!
    private var pump: InputPump!
    private var dispatcher: AlertDispatcher!
    private let startTime = time(nil)

    /// A plugin configured from `configurationPath`; when `required` is false a missing
    /// file means the defaults.
    public init(configurationPath: String, required: Bool, diagnostics: Diagnostics = Diagnostics()) {
        self.configurationPath = configurationPath
        configurationRequired = required
        self.diagnostics = diagnostics
    }

    /// Runs until standard input ends or auditd sends SIGTERM. Returns the exit status:
    /// 0 after a normal stop, 1 when the configuration or rule cannot be used at start.
    public func run() -> Int32 {
        SignalWatcher.blockSignals()
        // auditd's umask is inherited; the plugin's files are for root and adm only.
        umask(0o027)
        let rule: DetectionRule
        do {
            (configuration, rule) = try loadSettings()
        } catch {
            diagnostics.error("not started: \(error)")
            return 1
        }
        if let unsafe = unsafeOwnFile() {
            diagnostics.error("not started: \(unsafe)")
            return 1
        }
        apply(configuration, sinkChanged: false)
        let usrMerge = configuration.usrMerge
        if configuration.manageWatches && Capabilities.canReadAuditRules { loadIOURingWatches(rule) }
        checkKernelWatches(rule, usrMerge: usrMerge)
        detector = Detector(settings: Detector.Settings(rule: rule, watchKeys: [configuration.watchKey], usrMerge: usrMerge,
                                                        purpose: .alerts, cap: configuration.capSettings,
                                                        modificationRule: configuration.modificationAlerts),
                            host: LiveSystem.host(usrMerge: usrMerge))
        if getuid() == 0, let failure = Capabilities.dropAll(keepingAuditControl: configuration.manageWatches) {
            diagnostics.warning("capabilities not dropped: \(failure)")
        }

        reader = detector.reader(endOfEventTimeout: 2) { [unowned self] finding in handle(finding) }
        pump = InputPump(capacity: configuration.inputQueueBytes)
        let format = configuration.format
        dispatcher = AlertDispatcher(sink: configuration.makeSink(), capacity: configuration.outputQueueAlerts,
                                     notice: Self.noticeFormatter(format), diagnostics: diagnostics)
        let queue = pump.queue
        signals.start(onRequest: { queue.wake() }, onIgnored: { [diagnostics] sender in
            diagnostics.warning("SIGTERM from pid \(sender) ignored: only auditd (the parent) stops the plugin")
        })
        var outcome = Reconciler.Outcome()
        if let directory = configuration.stateDirectory {
            do {
                reconciler = try Reconciler(places: LiveSystem.places(of: rule, usrMerge: usrMerge), store: BaselineStore(directory: directory),
                                            interval: Double(configuration.reconcileInterval), outcome: &outcome)
            } catch {
                diagnostics.error("not started: state directory: \(error)")
                return 1
            }
        }
        placeMounts = PlaceMounts.current(places: placePaths)
        lastLost = kernelStatus()?.lost
        pump.start()
        raise(outcome)
        diagnostics.info("started: rule \"\(rule.name)\" version \(rule.version.map(String.init) ?? "-"), "
                         + "alerts to \(dispatcher.statistics.sink) as \(configuration.format.rawValue)")
        // The pump must win the CPU when it is short: it alone keeps auditd from waiting.
        // Lowering a thread's own priority needs no privilege.
        PosixThread.lowerPriority(by: 5)
        processInput()
        return 0
    }

    // MARK: The processing loop

    private func processInput() {
        var lastAged = MonotonicClock.seconds()
        var drained = true
        reading: while true {
            for request in signals.takeRequests() {
                switch request {
                case .reload: reload()
                case .report: writeState()
                case .stop:
                    // Finish what auditd has already handed over, then stop.
                    while case .element(let chunk) = pump.queue.take(timeout: 0) { consume(chunk) }
                    break reading
                }
            }
            // Wait only once the queue has drained and the held events have been released.
            switch pump.queue.take(timeout: drained ? 1_000_000_000 : 0) {
            case .element(let chunk):
                consume(chunk)
                drained = false
                if MonotonicClock.seconds() - lastAged < 1 { continue }
            case .nothing:
                drained = true
            case .closed:
                if let failure = pump.failure { diagnostics.error(failure) }
                break reading
            }
            reader.age(now: streamClock.now(newestRecord: reader.newestRecordSeconds))
            followReplacements()
            lastAged = MonotonicClock.seconds()
            if let due = rearmDue, lastAged >= due { rearmWatches() }
            detector.tick { [unowned self] in handle($0) }
            if reconciler != nil { watchForBlindness(now: lastAged) }
        }
        shutDown()
    }

    /// Stream time, for completing events that have no end record: the newest record's
    /// time plus the real time elapsed since it arrived. Live, that is the wall clock; for
    /// old records fed through standard input it still gives each event its
    /// end-of-event timeout, where the wall clock would split every event read in pieces.
    private struct StreamClock {
        private var newest: UInt64 = 0
        private var arrival = 0.0

        mutating func now(newestRecord: UInt64) -> UInt64 {
            let current = MonotonicClock.seconds()
            if newestRecord != newest {
                newest = newestRecord
                arrival = current
            }
            return newest + UInt64(current - arrival)
        }
    }

    private var streamClock = StreamClock()

    private func consume(_ chunk: [UInt8]) {
        chunk.withUnsafeBytes { reader.consume($0) }
        followReplacements()
    }

    private func handle(_ finding: Finding) {
        switch finding {
        case .file(let fileEvent, let verdict, let withheld):
            guard alerts(fileEvent, verdict, withheld: withheld) else { return }
            hostCounts.update(fileEvent.node) { $0.alerts += 1 }
            dispatcher.offer(formatter.alert(fileEvent, rule: detector.rule))
        case .modification(let fileEvent, let verdict, let withheld):
            guard alerts(fileEvent, verdict, withheld: withheld) else { return }
            guard let reconciler, fileEvent.node == nil, let path = fileEvent.file.path else {
                hostCounts.update(fileEvent.node) { $0.alerts += 1 }
                dispatcher.offer(formatter.alert(fileEvent, rule: ModificationRule.metadata))
                return
            }
            // The content before is the baseline's; the content after is read once the
            // writer is done (the record is of the open, before the write).
            var held = fileEvent
            held.contentDigests = ContentDigests(before: reconciler.digest(of: path), after: nil)
            heldModifications.append((held, MonotonicClock.seconds() + Reconciler.settle))
        case .borrowedExclusion(let fileEvent, let clauses, let withheld):
            guard !withheld else { hostCounts.update(fileEvent.node) { $0.withheld += 1 }; return }
            hostCounts.update(fileEvent.node) { $0.alerts += 1 }
            dispatcher.offer(formatter.alert(fileEvent, rule: BorrowedExclusionRule.metadata, borrowed: clauses))
        case .directoryReplacement(let fileEvent):
            hostCounts.update(fileEvent.node) { $0.fileEvents += 1; $0.alerts += 1 }
            if fileEvent.node == nil, let place = fileEvent.file.path { reconciler?.placeReplaced(place) }
            dispatcher.offer(formatter.alert(fileEvent, rule: DirectoryReplacementRule.metadata))
            replaced.append(fileEvent)
        case .watchRemoval(let burst):
            if burst.first.node == nil, burst.first.pid == Int(getpid()) { return }
            hostCounts.update(burst.first.node) { $0.alerts += 1 }
            if let last = lastReconciled, burst.first.node == nil, last.scanned >= burst.last {
                dispatcher.offer(formatter.alert(burst, rule: WatchRemovalRule.metadata, reconciled: last.finding))
            } else if reconciler != nil, burst.first.node == nil {
                // Held until the places are compared: the alert says what changed meanwhile.
                heldBursts.append((burst, MonotonicClock.seconds() + Self.burstHoldLimit))
            } else {
                dispatcher.offer(formatter.alert(burst, rule: WatchRemovalRule.metadata))
            }
        case .ruleChange(let change, let removesWatch):
            // The plugin's own changes (watches added again after a mount) are no tampering.
            if change.node == nil, change.pid == Int(getpid()) { return }
            if removesWatch {
                if change.node == nil {
                    let sender = BlindWindow.Sender(auditID: change.auditID, auditName: change.auditName, pid: change.pid,
                                                    executable: change.executable, commandLine: change.commandLine)
                    reconciler?.blind(change.disablesAuditing ? .auditingDisabled : .watchesRemoved, sender: sender,
                                      since: change.time)
                }
                rearmDue = MonotonicClock.seconds() + 1
            } else if rearmDue != nil {
                // Rules still changing (auditctl -R after its -D): wait until they settle, so
                // that a watch added first here does not make auditctl stop on "exists".
                rearmDue = MonotonicClock.seconds() + 1
            }
        case .capSummary(let summary):
            dispatcher.offer(formatter.summary(summary, rule: detector.rule))
        case .notice(let message):
            notice(message)
        }
    }

    /// Follows the places replaced by the events just processed.
    private func followReplacements() {
        guard !replaced.isEmpty else { return }
        let places = replaced
        replaced = []
        places.forEach(followReplacement)
    }

    /// Live, after a place was replaced (the detector has read its identity again): when
    /// it is now a symbolic link or a mount, the target is watched too (the place's own
    /// watch sees the link, not what is created behind it), and the output says so.
    private func followReplacement(_ replacement: FileEvent) {
        guard replacement.node == nil, let place = replacement.file.path else { return }
        let linked = replacement.audit.syscall == .symlink || replacement.audit.syscall == .symlinkat
        let mounted = replacement.audit.syscall == .mount || replacement.audit.syscall == .moveMount
        guard linked || mounted, let target = replacement.original?.path else { return }
        var message = "\(place.lossyText) is now " + (linked ? "a symbolic link to " : "a mount of ")
            + target.lossyText
        if !LiveSystem.isLocal(target) {
            message += ": not on a local file system, neither read nor watched"
        } else if configuration.manageWatches {
            let summary = WatchLoader.apply(adding: true, paths: [target],
                                            key: configuration.watchKey, lists: WatchLoader.List.all)
            message += ": watching the target too (\(summary.changed) watches added"
                + (summary.failures.isEmpty ? ")" : "; not added: " + summary.failures.joined(separator: "; ") + ")")
        } else {
            message += ": creations there are outside every watch (manage_watches = no)"
        }
        notice(message)
        diagnostics.warning(message)
    }

    private func notice(_ message: String) {
        dispatcher.offer(formatter.notice(message))
    }

    private func shutDown() {
        reader.finish()
        detector.finish { handle($0) }
        followReplacements()
        if let reconciler { raise(reconciler.finish()) }
        releaseBursts(reconciled: "not compared: the plugin stopped")
        for (event, _) in heldModifications { dispatcher.offer(formatter.alert(event, rule: ModificationRule.metadata)) }
        heldModifications = []
        let undelivered = dispatcher.finish(timeout: 3_000_000_000)
        writeState(undelivered: undelivered)
        let statistics = reader.statistics
        diagnostics.info("stopped: \(statistics.records) records, \(detector.normalizing.fileEvents) file events, "
                         + "\(detector.ruleStatistics.alerts) alerts"
                         + (undelivered > 0 ? ", \(undelivered) alerts not delivered" : ""))
    }

    // MARK: Configuration

    /// Reads the configuration and the rule it names, or says why they cannot be used.
    private func loadSettings() throws -> (PluginConfiguration, DetectionRule) {
        let configuration = try PluginConfiguration.load(path: configurationPath, required: configurationRequired)
            ?? PluginConfiguration()
        return (configuration, try configuration.loadRule())
    }

    /// SIGHUP: a configuration or rule that cannot be used is reported and the running
    /// one kept; either way the output is reopened (logrotate).
    private func reload() {
        let loaded: (PluginConfiguration, DetectionRule)
        do { loaded = try loadSettings() } catch {
            diagnostics.error("configuration not reloaded, the running one is kept: \(error)")
            dispatcher.reconfigure(sink: nil)
            return
        }
        let (new, rule) = loaded
        let old = configuration
        configuration = new
        detector.reconfigure(rule: rule, watchKeys: [new.watchKey], cap: new.capSettings) { handle($0) }
        let sinkChanged = new.output != old.output || new.format != old.format || new.file != old.file
            || new.syslogIdent != old.syslogIdent || new.syslogPriority != old.syslogPriority
            || new.syslogSocket != old.syslogSocket
        apply(new, sinkChanged: sinkChanged)
        if new.inputQueueBytes != old.inputQueueBytes || new.outputQueueAlerts != old.outputQueueAlerts
            || new.usrMerged != old.usrMerged {
            diagnostics.warning("input_queue_mib, output_queue and usr_merge take effect when the plugin restarts")
        }
        diagnostics.info("reloaded \(configurationPath): rule \"\(rule.name)\", alerts to "
                         + "\(dispatcher.statistics.sink) as \(new.format.rawValue)")
    }

    private func apply(_ configuration: PluginConfiguration, sinkChanged: Bool) {
        diagnostics.use(socketPath: configuration.syslogSocket)
        formatter = LineFormatter(format: configuration.format)
        guard let dispatcher else { return }
        dispatcher.reconfigure(sink: sinkChanged ? configuration.makeSink() : nil,
                               notice: Self.noticeFormatter(configuration.format))
    }

    private static func noticeFormatter(_ format: OutputFormat) -> @Sendable (String) -> [UInt8] {
        { message in
            var formatter = LineFormatter(format: format)
            return formatter.notice(message)
        }
    }

    // MARK: Watches

    /// Loads the io_uring watches the system's auditctl cannot (3.0.9) and the directory
    /// trees no rules file can hold (`WatchLoader.existingDirectories`), at start, while
    /// the plugin still has every capability.
    private func loadIOURingWatches(_ rule: DetectionRule) {
        let paths = rule.locations.map(\.path)
        for summary in [WatchLoader.apply(adding: true, paths: paths, key: configuration.watchKey, lists: [.ioUring]),
                        WatchLoader.applyTrees(adding: true, paths: paths, key: configuration.watchKey)] {
            if summary.changed > 0 { diagnostics.info("watches: \(summary.changed) added, \(summary.unchanged) present") }
            for failure in summary.failures { diagnostics.warning("watch not loaded: \(failure)") }
        }
    }

    /// Adds again every watch of the detector the kernel no longer has, on both lists,
    /// and says so among the alerts: a watch removal is followed by this notice.
    private func rearmWatches() {
        rearmDue = nil
        // Whoever put them back (this plugin, or a reload), the places are compared now.
        defer { reconciler?.seeing(.watchesRemoved) }
        guard configuration.manageWatches else { return }
        let summary = WatchLoader.apply(adding: true, paths: detector.rule.locations.map(\.path), key: configuration.watchKey,
                                        lists: WatchLoader.List.all)
        watchesRearmed += summary.changed
        rearmFailures += summary.failures.count
        var message = "watches re-armed after removal: \(summary.changed) added again, \(summary.unchanged) still present"
        if !summary.failures.isEmpty { message += "; not re-added: " + summary.failures.joined(separator: "; ") }
        notice(message)
        diagnostics.warning(message)
    }

    // MARK: Blind windows

    private var placePaths: [RawPath] {
        detector.rule.locations.map { $0.canonicalPath(usrMerge: configuration.usrMerge) }
    }

    /// A change the stream saw in a place: the baseline reads the name again.
    /// A file event judged by a rule (creation, modification): counted, its change noted
    /// for the baseline (read again only once settled, so a modification's baseline still
    /// holds the content before), and whether its alert goes out (a withheld one counted).
    private func alerts(_ fileEvent: FileEvent, _ verdict: RuleEngine.Verdict, withheld: Bool) -> Bool {
        hostCounts.update(fileEvent.node) { $0.fileEvents += 1 }
        noteChange(fileEvent)
        guard verdict.raisesAlert else { return false }
        guard !withheld else {
            hostCounts.update(fileEvent.node) { $0.withheld += 1 }
            return false
        }
        return true
    }

    private func noteChange(_ event: FileEvent) {
        guard let reconciler, event.node == nil else { return }
        let time = event.time
        if let path = event.file.path { reconciler.streamChanged(path, at: time) }
        if let path = event.original?.path { reconciler.streamChanged(path, at: time) }
    }

    /// About once a second: what may have blinded the detector since the last look, then
    /// the reconciler's due work and the modification alerts whose content is settled.
    ///   - auditing switched off (`AUDIT_GET`: the kernel does not log it coming back on);
    ///   - records lost by the kernel (`lost` grew) or dropped by the input queue;
    ///   - the mounts touching a place changed: the watches are added again first, so that
    ///     they are on the directory now seen there.
    private func watchForBlindness(now: Double) {
        guard let reconciler else { return }
        let wall = Double(time(nil))
        if now - lastPoll >= 1 {
            let since = wall - (now - lastPoll)
            lastPoll = now
            if let status = kernelStatus() {
                if status.enabled == 0 {
                    reconciler.blind(.auditingDisabled, since: wall)
                } else if reconciler.isBlind(.auditingDisabled) {
                    reconciler.seeing(.auditingDisabled)
                }
                if let lost = lastLost, status.lost > lost { reconciler.blinded(.recordsLost, from: since) }
                lastLost = status.lost
            }
            let dropped = pump.droppedRecords.load(ordering: .relaxed)
            if dropped > lastDropped { reconciler.blinded(.recordsLost, from: since) }
            lastDropped = dropped
            let mounts = PlaceMounts.current(places: placePaths)
            if let mounts, mounts != placeMounts {
                placeMounts = mounts
                if configuration.manageWatches { reloadWatches() }
                reconciler.blinded(.mount, from: since)
            }
        }
        raise(reconciler.tick())
        while let first = heldModifications.first, first.due <= now {
            heldModifications.removeFirst()
            var event = first.event
            let after = event.file.path.flatMap(reconciler.currentDigest(of:))
            event.contentDigests?.after = after
            // Opened for writing, nothing written (touch): no change to raise. A write
            // later than this look is the next scan's (an unexplained modification).
            if let before = event.contentDigests?.before, before == after {
                unchangedModifications += 1
                continue
            }
            hostCounts.update(nil) { $0.alerts += 1 }
            dispatcher.offer(formatter.alert(event, rule: ModificationRule.metadata))
        }
    }

    /// Removes and adds again every watch of the detector, so that each follows the
    /// directory now at its path (a rule holds the inode it resolved when added).
    private func reloadWatches() {
        let (paths, key) = (detector.rule.locations.map(\.path), configuration.watchKey)
        func everyWatch(adding: Bool) -> WatchLoader.Summary {
            var summary = WatchLoader.apply(adding: adding, paths: paths, key: key, lists: WatchLoader.List.all)
            summary.add(WatchLoader.applyTrees(adding: adding, paths: paths, key: key))
            return summary
        }
        let removed = everyWatch(adding: false)
        let added = everyWatch(adding: true)
        var message = "the mounts over the places changed: watches added again (\(removed.changed) removed, \(added.changed) added)"
        let failures = removed.failures + added.failures
        if !failures.isEmpty { message += "; failed: " + failures.joined(separator: "; ") }
        notice(message)
        diagnostics.warning(message)
    }

    /// The kernel's audit status, when the plugin may ask (CAP_AUDIT_CONTROL).
    private func kernelStatus() -> KernelStatus? {
        guard configuration.manageWatches, case .success(let status) = KernelStatus.load() else { return nil }
        return status
    }

    private func raise(_ outcome: Reconciler.Outcome) {
        for change in outcome.changes {
            hostCounts.update(nil) { $0.alerts += 1 }
            unwatchedChanges += 1
            dispatcher.offer(formatter.alert(change, rule: UnwatchedChangeRule.metadata))
        }
        if let reconciled = outcome.reconciled, !reconciled.causes.isDisjoint(with: [.watchesRemoved, .auditingDisabled]) {
            lastReconciled = (reconciled.finding, reconciled.scanned)
            releaseBursts(reconciled: reconciled.finding)
        }
        for message in outcome.notices {
            notice(message)
            diagnostics.info(message)
        }
        let now = MonotonicClock.seconds()
        if heldBursts.contains(where: { $0.due <= now }) {
            releaseBursts(reconciled: "not compared yet: the detector is still blind (the places are compared when it sees again)")
        }
    }

    /// Watch-removal alerts waiting for the reconcile that answers them, and for how long
    /// at most (monotonic seconds).
    private var heldBursts: [(burst: WatchRemovalBurst, due: Double)] = []
    /// The last reconcile after watches were removed: a burst that closes after it (its
    /// last change before the scan) carries its finding.
    private var lastReconciled: (finding: String, scanned: Double)?
    private static let burstHoldLimit = 30.0

    private func releaseBursts(reconciled: String) {
        for (burst, _) in heldBursts {
            dispatcher.offer(formatter.alert(burst, rule: WatchRemovalRule.metadata, reconciled: reconciled))
        }
        heldBursts = []
    }

    private var unwatchedChanges = 0
    /// Files opened for writing whose content did not change (no alert).
    private var unchangedModifications = 0

    /// Why a file the detector trusts is unsafe: the settings file or the rule file not
    /// owned by root, or writable by group or others (anyone could then blind it). nil
    /// when all are safe. auditd and laurel refuse their own files the same way.
    private func unsafeOwnFile() -> String? {
        guard getuid() == 0 else { return nil }
        return configuration.unsafeFiles(configurationPath: configurationPath).first.map { "\($0.path) \($0.fault)" }
    }

    // MARK: Start-up checks

    /// Warns about every place the rule covers that no kernel watch covers: creations
    /// there produce no records, so nothing could ever alert.
    private func checkKernelWatches(_ rule: DetectionRule, usrMerge: UsrMerge) {
        guard Capabilities.canReadAuditRules else {
            diagnostics.info("the kernel's watches were not checked: listing audit rules needs CAP_AUDIT_CONTROL")
            return
        }
        switch KernelWatches.load() {
        case .failure(let error):
            diagnostics.warning("the kernel's watches were not checked: \(error)")
        case .success(let kernel):
            let missing = kernel.uncovered(rule.locations, usrMerge: usrMerge)
            for location in missing {
                diagnostics.warning("no audit watch covers \(location): files created there raise no alert "
                                    + "(install audit-rules/50-audisp-lkm.rules and run augenrules --load)")
            }
            let missingIOURing = kernel.uncovered(rule.locations, usrMerge: usrMerge, list: 7)
            if !missingIOURing.isEmpty {
                diagnostics.warning("no io_uring watch covers \(missingIOURing.map(\.description).joined(separator: ", ")): "
                                    + "files io_uring creates there raise no alert (audisp-lkm watches add)")
            }
        }
    }

    // MARK: State

    private func writeState(undelivered: Int? = nil) {
        let reading = reader.statistics
        let input = pump.queue.snapshot
        let output = dispatcher.statistics
        let rule = detector.ruleStatistics
        var report = StateReport()
        report.add("audisp-lkm pid", getpid())
        report.add("time", time(nil))
        report.add("uptime_seconds", time(nil) - startTime)
        report.add("configuration", configurationPath)
        report.add("rule", "\(detector.rule.name) (version \(detector.rule.version.map(String.init) ?? "-"))")
        report.add("output", output.sink)
        report.add("records", reading.records)
        report.add("events", reading.events)
        report.add("parsed_events", reading.parsedEvents)
        report.add("file_events", detector.normalizing.fileEvents)
        report.add("unresolved_paths", detector.normalizing.unresolvedPaths)
        report.add("incomplete_events", detector.normalizing.incompleteEvents)
        report.add("candidates", rule.candidates)
        report.add("alerts", rule.alerts)
        report.add("modification_alerts", detector.modificationAlerts)
        report.add("borrowed_exclusions", detector.borrowedExclusions)
        report.add("excluded", rule.excluded)
        report.add("duplicates", rule.duplicates)
        report.add("undecided_alerts", rule.undecided)
        report.add("watch_removals", detector.watchRemovals)
        report.add("directory_replacements", detector.directoryReplacements)
        report.add("watches_rearmed", watchesRearmed)
        report.add("unwatched_changes", unwatchedChanges)
        report.add("modifications_without_change", unchangedModifications)
        report.add("rearm_failures", rearmFailures)
        report.add("io_uring_events", detector.normalizing.uringEvents)
        report.add("io_uring_events_without_program", detector.normalizing.uringEventsWithoutProcess)
        report.add("known_directories", detector.knownDirectories)
        report.add("directory_lookups", detector.directoryLookUps)
        report.add("known_processes", detector.knownProcesses)
        report.add("alerted_identities", detector.alertedIdentities)
        report.add("alerts_delivered", output.delivered)
        let capStatistics = detector.capStatistics
        report.add("alerts_withheld_by_cap", capStatistics.withheldByGroup + capStatistics.withheldByCeiling)
        report.add("alerts_withheld_by_group_allowance", capStatistics.withheldByGroup)
        report.add("alerts_withheld_by_ceiling", capStatistics.withheldByCeiling)
        report.add("alert_ceiling_reached", capStatistics.ceilingReached)
        report.add("withheld_summaries", capStatistics.summaries)
        report.add("alerts_withheld_by_full_output_queue", output.withheld)
        report.add("output_failures", output.failures)
        report.add("output_error", output.failing ?? "none")
        if let undelivered { report.add("alerts_not_delivered_at_exit", undelivered) }
        report.add("records_dropped_by_full_input_queue", pump.droppedRecords.load(ordering: .relaxed))
        report.add("malformed_lines", reading.malformedLines)
        report.add("overlong_lines", reading.overlongLines)
        report.add("events_closed_early", reading.forcedCompletions)
        report.add("records_beyond_event_limits", reading.recordsBeyondEventLimits)
        report.add("input_queue_bytes", input.load)
        report.add("input_queue_high_water_bytes", input.highWater)
        report.add("input_queue_capacity_bytes", input.capacity)
        report.add("output_queue_alerts", output.queued)
        report.add("output_queue_high_water", output.highWater)
        report.add("output_queue_capacity", output.capacity)
        report.add("ignored_sigterms", signals.ignoredTerminations.load(ordering: .relaxed))
        report.add("diagnostics_not_sent_to_syslog", diagnostics.unsent)
        hostCounts.add(to: &report)
        do { try report.write(to: configuration.stateFile) } catch {
            diagnostics.warning("state report not written: \(error)")
        }
    }

}
