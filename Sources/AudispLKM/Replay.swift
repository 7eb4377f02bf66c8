import ArgumentParser
import AuditReading
import Compliance
import Detection
import FileEvents
import Glibc
import Outputs
import RuleEngine

/// `audisp-lkm replay`: reads audit logs offline.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read audit logs offline and print what they contain.",
        discussion: """
            Reads raw audit logs as auditd writes them (RAW or ENRICHED, with or without \
            node= prefixes), rotated and gzip-compressed copies, `ausearch --raw` output and \
            ausearch's default output. `ausearch -i` output is refused: it cannot be replayed \
            faithfully.

            Files are read in the order given, except that a rotation set is put oldest \
            first: `replay /var/log/audit/audit.log*` reads audit.log.4 ... audit.log.1, \
            audit.log.

            By default it prints one alert per file event the rule matches: Elastic's \
            "Loadable Kernel Module Configuration File Creation", version 1, built in; \
            --rule loads another detection-rules TOML file. An event seen twice (overlapping \
            inputs) alerts once. --explain adds, for every candidate (an event that passed \
            the rule's inclusions, such as the path patterns), a line saying what decided: \
            the pattern that matched, or the exclusion that removed it.

            A file made through io_uring whose name the kernel did not log is judged from \
            its directory: it alerts, marked undecided (file.Ext.unresolved says why), \
            when the rule would match some name there and not others.

            A place the rule covers replaced wholesale (a directory renamed to its name, a \
            symbolic link made in its name) raises "Kernel Module Configuration Directory \
            Replaced" (MITRE T1547.006), naming what replaced it.

            A change to the audit rules that removes a watch with one of the --watch-key \
            keys (CONFIG_CHANGE op=remove_rule) raises an alert of its own, "Audit Watch \
            on Kernel Module Configuration Removed" (MITRE T1562.012), with the login user \
            who made it.

            --events prints every file event (creation or rename) the records describe \
            instead, whether or not it concerns kernel-module configuration.

            Standard error gets a summary at the end (records, events, file events, \
            unresolved paths, skipped lines) and, when it is a terminal, progress.

            Examples:
              audisp-lkm replay /var/log/audit/audit.log*
              audisp-lkm replay --explain --format text audit.log
              audisp-lkm replay --events /var/log/audit/audit.log*
              ausearch --raw -k lkm | audisp-lkm replay --events --format text
            """
    )

    @Flag(help: "Print every normalised file event (one per line) instead of alerts.")
    var events = false

    @Flag(help: "For every candidate event, print what decided it (text, one line each).")
    var explain = false

    @Option(help: ArgumentHelp("Load this detection-rules TOML file instead of the built-in rule.", valueName: "file"))
    var rule: String?

    @Option(name: .customLong("max-alerts"),
            help: ArgumentHelp("Raise at most N alerts per group (host, program, directory) per --window, and summarise the rest (default: no cap).",
                               valueName: "n"))
    var maximumAlerts: Int?

    @Option(help: ArgumentHelp("The --max-alerts window, in seconds of log time.", valueName: "seconds"))
    var window: Double = 300

    @Option(help: ArgumentHelp("With --max-alerts: at most N alerts per window over all groups (default: none).",
                               valueName: "n"))
    var ceiling: Int?

    @Option(name: .customLong("summary-interval"),
            help: ArgumentHelp("With --max-alerts: seconds of log time between two summaries of a group's withheld alerts.",
                               valueName: "seconds"))
    var summaryInterval: Double = 60

    @Option(name: .customLong("watch-key"),
            help: ArgumentHelp("The key of the detector's audit watches: removing one alerts, and a file on such a watch whose path is unknown is judged undecided (repeatable).",
                               valueName: "key"))
    var watchKeys: [String] = ["audisp-lkm"]

    @Option(help: "Output format: json (one ECS document per line) or text (one key=value line).")
    var format: OutputFormat = .json

    @Option(name: .customLong("eoe-timeout"),
            help: ArgumentHelp("Seconds of log time after which an event with no end record is complete.",
                               valueName: "seconds"))
    var endOfEventTimeout: UInt64 = 2

    @Flag(name: .customLong("split-usr"),
          help: "The logs come from a system where /bin, /sbin and /lib* are not links into /usr.")
    var splitUsr = false

    @Argument(help: ArgumentHelp("Audit logs, plain or .gz; none or - reads standard input.", valueName: "file"))
    var files: [String] = []

    func validate() throws {
        if let maximumAlerts, maximumAlerts < 0 { throw ValidationError("--max-alerts must be 0 or more") }
        if let ceiling, ceiling < 0 { throw ValidationError("--ceiling must be 0 or more") }
        if ceiling != nil && maximumAlerts == nil { throw ValidationError("--ceiling goes with --max-alerts") }
        guard summaryInterval > 0 else { throw ValidationError("--summary-interval must be positive") }
        guard window > 0 else { throw ValidationError("--window must be positive") }
        if events && (explain || maximumAlerts != nil) {
            throw ValidationError("--events prints file events; --explain and --max-alerts are about alerts")
        }
    }

    func run() throws {
        let inputs = try ReplayInputs.open(files)
        let rule = try DetectionRule.selected(rule)
        let cap = maximumAlerts.map {
            AlertCap.Settings(allowance: $0, window: window, ceiling: ceiling, summaryInterval: summaryInterval)
        }
        let detector = Detector(settings: Detector.Settings(rule: rule, watchKeys: watchKeys, usrMerge: UsrMerge(isMerged: !splitUsr),
                                                            purpose: events ? .fileEvents : .alerts, cap: cap))
        var output = StandardOutput()
        var formatter = LineFormatter(format: format)
        let (printEvents, explain) = (events, self.explain)
        func handle(_ finding: Finding) {
            switch finding {
            case .file(let event, _, _) where printEvents, .directoryReplacement(let event) where printEvents:
                output.write(formatter.event(event))
            case .file(let event, let verdict, let withheld):
                if explain, let line = Explanation.line(for: event, verdict: verdict, detector: detector) { output.write(line) }
                if verdict.raisesAlert && !withheld { output.write(formatter.alert(event, rule: rule)) }
            case .directoryReplacement(let event):
                output.write(formatter.alert(event, rule: DirectoryReplacementRule.metadata))
            case .ruleChange(let change, let removesWatch):
                if removesWatch && !printEvents { output.write(formatter.alert(change, rule: WatchRemovalRule.metadata)) }
            case .capSummary(let summary):
                output.write(formatter.summary(summary, rule: rule))
            case .notice(let message):
                output.write(formatter.notice(message))
            }
        }
        let reader = detector.reader(endOfEventTimeout: endOfEventTimeout, emit: handle)
        let complete = try ReplayInputs.read(inputs, with: reader)
        reader.finish()
        detector.finish(emit: handle)
        output.flush()
        let capStatistics = detector.capStatistics
        Summary.print(reading: reader.statistics, normalizing: detector.normalizing,
                      rule: events ? nil : detector.ruleStatistics,
                      withheld: capStatistics.withheldByGroup + capStatistics.withheldByCeiling,
                      watchesRemoved: detector.watchRemovals, replacements: detector.directoryReplacements, inputs: inputs.count)
        if !complete { throw ExitCode(2) }
    }
}

/// The inputs of `replay` and `report`: opened in rotation order, read with progress.
enum ReplayInputs {
    /// Opens `files` (none: standard input), a rotation set oldest first.
    static func open(_ files: [String]) throws -> [LogInput] {
        try RotationOrder.sorted(files.isEmpty ? ["-"] : files).map { path in
            do { return try LogInput(path: path) } catch let error as LogInputError { throw ValidationError(error.description) }
        }
    }

    /// Reads every input through `reader`, showing progress on a terminal. An input that
    /// fails is reported on standard error and the others are still read; false then.
    /// Output of `ausearch -i` is refused at once (it cannot be replayed faithfully).
    static func read(_ inputs: [LogInput], with reader: AuditLogReader) throws -> Bool {
        var progress = Progress(inputs: inputs)
        var complete = true
        for input in inputs {
            do {
                try reader.read(input) { consumed in progress.show(input: input, consumed: consumed, reader: reader) }
            } catch {
                if case .interpreted = error { throw ValidationError(error.description) }
                complete = false
                progress.clear()
                StandardError.report(error.description)
            }
            progress.finished(input)
        }
        progress.clear()
        return complete
    }
}

/// Puts a rotation set (`audit.log`, `audit.log.1`, `audit.log.2.gz` ...) oldest first;
/// other names keep the order given.
enum RotationOrder {
    static func sorted(_ paths: [String]) -> [String] {
        // (base name, generation): audit.log is generation 0, audit.log.3.gz generation 3.
        func rotation(_ path: String) -> (String, Int)? {
            var name = Substring(path)
            if name.hasSuffix(".gz") { name = name.dropLast(3) }
            guard let dot = name.lastIndex(of: "."), let generation = Int(name[name.index(after: dot)...]),
                  generation >= 0 else { return (String(name), 0) }
            return (String(name[..<dot]), generation)
        }
        let keyed = paths.enumerated().map { (offset: $0.offset, path: $0.element, rotation: rotation($0.element)) }
        return keyed.sorted { a, b in
            guard let ra = a.rotation, let rb = b.rotation, ra.0 == rb.0 else { return a.offset < b.offset }
            return ra.1 != rb.1 ? ra.1 > rb.1 : a.offset < b.offset
        }.map(\.path)
    }
}

/// Replay's lines to standard output, through the evidence output's buffer; a write that
/// fails ends the run at once with status 2.
struct StandardOutput {
    private let output = EvidenceOutput()

    /// Appends one line (`bytes` plus a newline).
    mutating func write(_ bytes: [UInt8]) {
        output.write(line: bytes)
        exitOnFailure()
    }

    mutating func flush() {
        output.flush()
        exitOnFailure()
    }

    private func exitOnFailure() {
        guard let error = output.error else { return }
        StandardError.report("writing standard output: \(error)")
        Glibc.exit(2)
    }
}

/// A progress line on standard error, when it is a terminal, at most twice a second.
struct Progress {
    private let enabled = isatty(STDERR_FILENO) == 1
    private var lastShown = timespec()
    private var shown = false
    private let totalBytes: Int64?
    private var doneBytes: Int64 = 0

    init(inputs: [LogInput]) {
        let sizes = inputs.map(\.fileSize)
        totalBytes = sizes.contains { $0 == nil } ? nil : sizes.reduce(0) { $0 + $1! }
    }

    mutating func show(input: LogInput, consumed: Int64, reader: AuditLogReader) {
        guard enabled else { return }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        guard now.tv_sec * 1000 + now.tv_nsec / 1_000_000 - (lastShown.tv_sec * 1000 + lastShown.tv_nsec / 1_000_000) >= 500
        else { return }
        lastShown = now
        let megabytes = (doneBytes + consumed) >> 20
        var line = "\r\u{1B}[Kaudisp-lkm: \(input.name): \(megabytes) MiB"
        if let totalBytes, totalBytes > 0 { line += " of \(totalBytes >> 20) MiB (\((doneBytes + consumed) * 100 / totalBytes)%)" }
        line += ", \(reader.statistics.records) records, \(reader.statistics.events) events"
        StandardError.write(line)
        shown = true
    }

    mutating func finished(_ input: LogInput) { doneBytes += input.fileSize ?? 0 }

    mutating func clear() {
        guard shown else { return }
        StandardError.write("\r\u{1B}[K")
        shown = false
    }
}

/// The end-of-run counts on standard error.
enum Summary {
    static func print(reading: ReadStatistics, normalizing: NormalizerStatistics, rule: RuleStatistics?,
                      withheld: Int, watchesRemoved: Int, replacements: Int, inputs: Int) {
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
            if watchesRemoved > 0 { line += ", \(watchesRemoved) watch-removal alerts" }
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
        StandardError.write(line + "\n")
    }
}

/// `--explain` lines: what decided each candidate event.
enum Explanation {
    static func line(for event: FileEvent, verdict: RuleEngine.Verdict, detector: Detector) -> [UInt8]? {
        var line = KeyValueLine()
        line.add("explain", event.eventID)
        line.add("path", event.file.path)
        switch verdict {
        case .notCandidate:
            return nil
        case .alert:
            line.add("verdict", "alert")
            line.add("matched", detector.explanation(of: verdict, for: event).joined(separator: " and "))
        case .undecided:
            line.add("verdict", "undecided")
            line.add("directory", event.file.directory)
            line.add("because", detector.explanation(of: verdict, for: event).joined(separator: " and "))
        case .excluded:
            line.add("verdict", "excluded")
            line.add("by", detector.explanation(of: verdict, for: event).joined(separator: " and "))
        case .duplicate:
            line.add("verdict", "duplicate")
        }
        return line.bytes
    }
}

extension OutputFormat: ExpressibleByArgument {}
