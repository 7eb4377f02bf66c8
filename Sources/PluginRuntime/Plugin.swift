import AuditReading
import FileEvents
import Glibc
import Outputs
import RuleEngine
import Synchronization

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
    private var engine: RuleEngine
    private var retiredRuleStatistics = RuleStatistics()
    private var retiredCapStatistics = AlertCap.Statistics()
    private var watchRemoval = WatchRemovalRule(keys: ["audisp-lkm"])
    private var watchRemovals = 0
    /// File events, alerts and withheld alerts per host (node=), for the state report.
    private var hostCounts = HostCounts()
    private var directoryReplacements = 0
    /// When to add removed watches again (monotonic seconds): a second after the last
    /// removal seen, so that `auditctl -D` or `augenrules --load` has finished.
    private var rearmDue: Double?
    private var watchesRearmed = 0
    private var rearmFailures = 0
    private var cap: AlertCap?
    private var formatter = LineFormatter(format: .text)
    private var normalizer = FileEventNormalizer()
    /// Skips, unparsed, file events the current rule cannot alert on (nil: parse them all).
    private var selector: AlertSelector?
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
        engine = RuleEngine(rule: DetectionRule.defaultRule())
    }

    /// Runs until standard input ends or auditd sends SIGTERM. Returns the exit status:
    /// 0 after a normal stop, 1 when the configuration or rule cannot be used at start.
    public func run() -> Int32 {
        SignalWatcher.blockSignals()
        // auditd's umask is inherited; the plugin's files are for root and adm only.
        umask(0o027)
        do {
            (configuration, engine) = try loadSettings()
        } catch {
            diagnostics.error("not started: \(error)")
            return 1
        }
        apply(configuration, sinkChanged: false)
        let usrMerge = configuration.usrMerge
        normalizer = FileEventNormalizer(usrMerge: usrMerge)
        selector = AlertSelector(rule: engine.rule, usrMerge: usrMerge, watchKeys: [configuration.watchKey])
        if configuration.manageWatches && Capabilities.canReadAuditRules { loadIOURingWatches() }
        checkKernelWatches(usrMerge: usrMerge)
        connectLiveLookups(usrMerge: usrMerge)
        if getuid() == 0, let failure = Capabilities.dropAll(keepingAuditControl: configuration.manageWatches) {
            diagnostics.warning("capabilities not dropped: \(failure)")
        }

        reader = AuditLogReader(endOfEventTimeout: 2, selector: { [unowned self] summary in
            selector?.disposition(summary) ?? FileEventNormalizer.disposition(summary)
        }, onEvent: { [unowned self] event in
            handle(event)
        })
        pump = InputPump(capacity: configuration.inputQueueBytes)
        let format = configuration.format
        dispatcher = AlertDispatcher(sink: configuration.makeSink(), capacity: configuration.outputQueueAlerts,
                                     notice: Self.noticeFormatter(format), diagnostics: diagnostics)
        let queue = pump.queue
        signals.start(onRequest: { queue.wake() }, onIgnored: { [diagnostics] sender in
            diagnostics.warning("SIGTERM from pid \(sender) ignored: only auditd (the parent) stops the plugin")
        })
        pump.start()
        diagnostics.info("started: rule \"\(engine.rule.name)\" version \(engine.rule.version.map(String.init) ?? "-"), "
                         + "alerts to \(dispatcher.statistics.sink) as \(configuration.format.rawValue)")
        // The pump must win the CPU when it is short: it alone keeps auditd from waiting.
        // Lowering a thread's own priority needs no privilege.
        lowerThreadPriority(by: 5)
        processInput()
        return 0
    }

    // MARK: The processing loop

    private func processInput() {
        var lastAged = Self.monotonicSeconds()
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
                if Self.monotonicSeconds() - lastAged < 1 { continue }
            case .nothing:
                drained = true
            case .closed:
                if let failure = pump.failure { diagnostics.error(failure) }
                break reading
            }
            reader.age(now: streamClock.now(newestRecord: reader.newestRecordSeconds))
            lastAged = Self.monotonicSeconds()
            if let due = rearmDue, lastAged >= due { rearmWatches() }
            if var current = cap {
                for summary in current.dueSummaries(at: Self.monotonicSeconds()) { offer(summary) }
                cap = current
            }
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
            let current = Plugin.monotonicSeconds()
            if newestRecord != newest {
                newest = newestRecord
                arrival = current
            }
            return newest + UInt64(current - arrival)
        }
    }

    private var streamClock = StreamClock()

    static func monotonicSeconds() -> Double {
        var clock = timespec()
        clock_gettime(CLOCK_MONOTONIC, &clock)
        return Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9
    }

    private func consume(_ chunk: [UInt8]) {
        chunk.withUnsafeBytes { reader.consume($0) }
    }

    private func handle(_ event: AuditEvent) {
        for change in AuditRuleChange.all(in: event) {
            if watchRemoval.matches(change) {
                watchRemovals += 1
                hostCounts.update(change.node) { $0.alerts += 1 }
                dispatcher.offer(formatter.alert(change, rule: WatchRemovalRule.metadata))
                if configuration.manageWatches { rearmDue = Self.monotonicSeconds() + 1 }
            } else if rearmDue != nil {
                // Rules still changing (auditctl -R after its -D): wait until they settle, so
                // that a watch added first here does not make auditctl stop on "exists".
                rearmDue = Self.monotonicSeconds() + 1
            }
        }
        var replaced: [FileEvent] = []
        normalizer.normalize(event) { fileEvent in
            hostCounts.update(fileEvent.node) { $0.fileEvents += 1 }
            guard fileEvent.action == .directoryReplacement else {
                if engine.evaluate(fileEvent).raisesAlert { raise(fileEvent, rule: engine.rule) }
                return
            }
            directoryReplacements += 1
            hostCounts.update(fileEvent.node) { $0.alerts += 1 }
            // Not through the cap: rare, and its groups and summaries are the file rule's.
            dispatcher.offer(formatter.alert(fileEvent, rule: DirectoryReplacementRule.metadata))
            for brought in broughtFiles(fileEvent) where engine.evaluate(brought).raisesAlert {
                raise(brought, rule: engine.rule)
            }
            replaced.append(fileEvent)
        }
        // After the normaliser is done with the event: this changes its directory table.
        replaced.forEach(followReplacement)
    }

    /// An alert, through the cap.
    private func raise(_ fileEvent: FileEvent, rule: DetectionRule) {
        if var current = cap {
            let admitted = current.admit(fileEvent, at: Self.monotonicSeconds()) { notice($0) }
            cap = current
            guard admitted else {
                hostCounts.update(fileEvent.node) { $0.withheld += 1 }
                return
            }
        }
        hostCounts.update(fileEvent.node) { $0.alerts += 1 }
        dispatcher.offer(formatter.alert(fileEvent, rule: rule))
    }

    /// Live: the files a replaced place holds now, each as the rename that brought it
    /// there from what replaced the place (a renamed directory, a link's target), with the
    /// replacing process: the alerts their creation there would have raised. At most
    /// `broughtFilesLimit` are read, the rest said in a notice.
    private func broughtFiles(_ replacement: FileEvent) -> [FileEvent] {
        guard let place = replacement.file.path, replacement.node == nil else { return [] }
        let (names, more) = LiveSystem.entries(in: place, limit: Self.broughtFilesLimit)
        if more {
            notice("\(String(decoding: place, as: UTF8.self)) holds more than \(Self.broughtFilesLimit) entries "
                   + "since it was replaced; only the first were examined")
        }
        return names.map { name in
            var brought = replacement
            brought.action = .rename
            brought.file = FilePath(path: PathText.join(place, name), name: name, loggedName: name)
            brought.original = replacement.original?.path.map { source in
                FilePath(path: PathText.join(source, name), name: name)
            }
            return brought
        }
    }

    static let broughtFilesLimit = 256

    /// Live, after a place was replaced: its identity is read again (so that files made
    /// in it, under whatever name, keep the place's path), and when it is now a symbolic
    /// link, the target is watched too (the place's own watch sees the link, not what is
    /// created behind it), and the output says so.
    private func followReplacement(_ replacement: FileEvent) {
        guard replacement.node == nil, let place = replacement.file.path else { return }
        for found in LiveSystem.directories([String(decoding: place, as: UTF8.self)], usrMerge: normalizer.paths.usrMerge) {
            normalizer.paths.remember(directory: found.path, as: found.key)
        }
        let linked = replacement.audit.syscall == .symlink || replacement.audit.syscall == .symlinkat
        let mounted = replacement.audit.syscall == .mount || replacement.audit.syscall == .moveMount
        guard linked || mounted, let target = replacement.original?.path else { return }
        var message = "\(String(decoding: place, as: UTF8.self)) is now " + (linked ? "a symbolic link to " : "a mount of ")
            + String(decoding: target, as: UTF8.self)
        if !LiveSystem.isLocal(target) {
            message += ": not on a local file system, neither read nor watched"
        } else if configuration.manageWatches {
            let summary = WatchLoader.apply(adding: true, paths: [String(decoding: target, as: UTF8.self)],
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

    private func offer(_ summary: AlertCap.Summary) {
        dispatcher.offer(formatter.summary(summary, rule: engine.rule))
    }

    /// Sends every summary the cap still holds and ends it (stop, new cap settings).
    private func flushCap() {
        guard var current = cap else { return }
        for summary in current.flush() { offer(summary) }
        retiredCapStatistics.add(current.statistics)
        cap = nil
    }

    private func shutDown() {
        reader.finish()
        flushCap()
        let undelivered = dispatcher.finish(timeout: 3_000_000_000)
        writeState(undelivered: undelivered)
        let statistics = reader.statistics
        diagnostics.info("stopped: \(statistics.records) records, \(normalizer.statistics.fileEvents) file events, "
                         + "\(ruleStatistics.alerts) alerts"
                         + (undelivered > 0 ? ", \(undelivered) alerts not delivered" : ""))
    }

    // MARK: Configuration

    /// Reads the configuration and the rule it names, or says why they cannot be used.
    private func loadSettings() throws -> (PluginConfiguration, RuleEngine) {
        let configuration = try PluginConfiguration.load(path: configurationPath, required: configurationRequired)
            ?? PluginConfiguration()
        return (configuration, RuleEngine(rule: try configuration.loadRule()))
    }

    /// SIGHUP: a configuration or rule that cannot be used is reported and the running
    /// one kept; either way the output is reopened (logrotate).
    private func reload() {
        let loaded: (PluginConfiguration, RuleEngine)
        do { loaded = try loadSettings() } catch {
            diagnostics.error("configuration not reloaded, the running one is kept: \(error)")
            dispatcher.reconfigure(sink: nil)
            return
        }
        let (new, newEngine) = loaded
        let old = configuration
        retiredRuleStatistics.add(engine.statistics)
        engine = newEngine
        selector = AlertSelector(rule: newEngine.rule, usrMerge: normalizer.paths.usrMerge, watchKeys: [new.watchKey])
        configuration = new
        connectLiveLookups(usrMerge: normalizer.paths.usrMerge)
        let sinkChanged = new.output != old.output || new.format != old.format || new.file != old.file
            || new.syslogIdent != old.syslogIdent || new.syslogPriority != old.syslogPriority
            || new.syslogSocket != old.syslogSocket
        apply(new, sinkChanged: sinkChanged)
        if new.inputQueueBytes != old.inputQueueBytes || new.outputQueueAlerts != old.outputQueueAlerts
            || new.usrMerged != old.usrMerged {
            diagnostics.warning("input_queue_mib, output_queue and usr_merge take effect when the plugin restarts")
        }
        diagnostics.info("reloaded \(configurationPath): rule \"\(engine.rule.name)\", alerts to "
                         + "\(dispatcher.statistics.sink) as \(new.format.rawValue)")
    }

    private func apply(_ configuration: PluginConfiguration, sinkChanged: Bool) {
        diagnostics.use(socketPath: configuration.syslogSocket)
        watchRemoval = WatchRemovalRule(keys: [configuration.watchKey])
        normalizer.watchKeys = [Array(configuration.watchKey.utf8)]
        formatter = LineFormatter(format: configuration.format)
        if cap?.settings != configuration.capSettings {
            flushCap()
            cap = configuration.capSettings.map(AlertCap.init(settings:))
        }
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

    /// The paths of the places the rule covers, one watch each.
    private var watchedPaths: [String] { engine.rule.locations.map(\.path) }

    /// Loads the io_uring watches the system's auditctl cannot (3.0.9) and the directory
    /// trees no rules file can hold (`WatchLoader.existingDirectories`), at start, while
    /// the plugin still has every capability.
    private func loadIOURingWatches() {
        for summary in [WatchLoader.apply(adding: true, paths: watchedPaths, key: configuration.watchKey, lists: [.ioUring]),
                        WatchLoader.applyTrees(adding: true, paths: watchedPaths, key: configuration.watchKey)] {
            if summary.changed > 0 { diagnostics.info("watches: \(summary.changed) added, \(summary.unchanged) present") }
            for failure in summary.failures { diagnostics.warning("watch not loaded: \(failure)") }
        }
    }

    /// Adds again every watch of the detector the kernel no longer has, on both lists,
    /// and says so among the alerts: a watch removal is followed by this notice.
    private func rearmWatches() {
        rearmDue = nil
        let summary = WatchLoader.apply(adding: true, paths: watchedPaths, key: configuration.watchKey,
                                        lists: WatchLoader.List.all)
        watchesRearmed += summary.changed
        rearmFailures += summary.failures.count
        var message = "watches re-armed after removal: \(summary.changed) added again, \(summary.unchanged) still present"
        if !summary.failures.isEmpty { message += "; not re-added: " + summary.failures.joined(separator: "; ") }
        notice(message)
        diagnostics.warning(message)
    }

    // MARK: Start-up checks

    /// Warns about every place the rule covers that no kernel watch covers: creations
    /// there produce no records, so nothing could ever alert.
    private func checkKernelWatches(usrMerge: UsrMerge) {
        guard Capabilities.canReadAuditRules else {
            diagnostics.info("the kernel's watches were not checked: listing audit rules needs CAP_AUDIT_CONTROL")
            return
        }
        switch KernelWatches.load() {
        case .failure(let error):
            diagnostics.warning("the kernel's watches were not checked: \(error)")
        case .success(let kernel):
            let missing = kernel.uncovered(engine.rule.locations, usrMerge: usrMerge)
            for location in missing {
                diagnostics.warning("no audit watch covers \(location): files created there raise no alert "
                                    + "(install audit-rules/50-audisp-lkm.rules and run augenrules --load)")
            }
            let missingIOURing = kernel.uncovered(engine.rule.locations, usrMerge: usrMerge, list: 7)
            if !missingIOURing.isEmpty {
                diagnostics.warning("no io_uring watch covers \(missingIOURing.map(\.description).joined(separator: ", ")): "
                                    + "files io_uring creates there raise no alert (audisp-lkm watches add)")
            }
        }
    }

    /// Seeds the path resolver with the rule's directories as they are now, so that a
    /// creation relative to a directory descriptor resolves from the first event, and
    /// lets the normaliser ask the running system what the records leave out: those
    /// directories again when a descriptor's is unknown (made or replaced since), and the
    /// name of a file io_uring made.
    private func connectLiveLookups(usrMerge: UsrMerge) {
        let places = engine.rule.placeDirectories(usrMerge: usrMerge)
        normalizer.paths.places = Set(places)
        // The places and their parents, by identity (where a place can be made or replaced).
        var seen = Set<[UInt8]>()
        let directories = (places + places.map(PathText.directory(of:))).filter { seen.insert($0).inserted }
            .map { String(decoding: $0, as: UTF8.self) }
        for found in LiveSystem.directories(directories, usrMerge: usrMerge) {
            normalizer.paths.remember(directory: found.path, as: found.key)
        }
        // At most every 50 ms: a flood of events in unknown directories must not turn into
        // a flood of stat calls.
        let recent = Mutex<(time: Double, found: [(path: [UInt8], key: DirectoryKey)])>((-1, []))
        normalizer.paths.lookUpDirectories = {
            let now = Plugin.monotonicSeconds()
            return recent.withLock { cached in
                if now - cached.time >= 0.05 { cached = (now, LiveSystem.directories(directories, usrMerge: usrMerge)) }
                return cached.found
            }
        }
        normalizer.recoverName = { LiveSystem.name(in: $0, inode: $1) }
        normalizer.waitsForDirectories = false
    }

    // MARK: State

    private var ruleStatistics: RuleStatistics {
        var total = retiredRuleStatistics
        total.add(engine.statistics)
        return total
    }

    private func writeState(undelivered: Int? = nil) {
        let reading = reader.statistics
        let input = pump.queue.snapshot
        let output = dispatcher.statistics
        let rule = ruleStatistics
        var report = StateReport()
        report.add("audisp-lkm pid", getpid())
        report.add("time", time(nil))
        report.add("uptime_seconds", time(nil) - startTime)
        report.add("configuration", configurationPath)
        report.add("rule", "\(engine.rule.name) (version \(engine.rule.version.map(String.init) ?? "-"))")
        report.add("output", output.sink)
        report.add("records", reading.records)
        report.add("events", reading.events)
        report.add("parsed_events", reading.parsedEvents)
        report.add("file_events", normalizer.statistics.fileEvents)
        report.add("unresolved_paths", normalizer.statistics.unresolvedPaths)
        report.add("incomplete_events", normalizer.statistics.incompleteEvents)
        report.add("candidates", rule.candidates)
        report.add("alerts", rule.alerts)
        report.add("excluded", rule.excluded)
        report.add("duplicates", rule.duplicates)
        report.add("undecided_alerts", rule.undecided)
        report.add("watch_removals", watchRemovals)
        report.add("directory_replacements", directoryReplacements)
        report.add("watches_rearmed", watchesRearmed)
        report.add("rearm_failures", rearmFailures)
        report.add("io_uring_events", normalizer.statistics.uringEvents)
        report.add("io_uring_events_without_program", normalizer.statistics.uringEventsWithoutProcess)
        report.add("known_directories", normalizer.paths.count)
        report.add("directory_lookups", normalizer.paths.statistics.fileSystemLookUps)
        report.add("known_processes", normalizer.processes.count)
        report.add("alerted_identities", engine.alertedCount)
        report.add("alerts_delivered", output.delivered)
        var capStatistics = retiredCapStatistics
        if let cap { capStatistics.add(cap.statistics) }
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
