import FileEvents
import Glibc
import HostFiles
import PlaceBaseline

/// Names what was done while the detector could not see. It keeps the baseline of the
/// places current from the event stream (each change seen is read again from the disk a
/// second later, once the writer is done), and scans the places whenever the detector
/// can see again: every difference from the baseline is a change no record explains,
/// raised with the blind windows it may have happened in.
///
/// A scan never races the stream: its differences wait `grace` seconds, and any that an
/// event of the stream from before the scan explains (the same name, changed while the
/// detector could see, its records still on their way) is dropped, not raised.
///
/// Bounds: the baseline's (`PlaceScanner.maximumEntries` names); the names waiting to be
/// read again, at most one entry per name in the places.
final class Reconciler {
    /// What a call found: alerts to raise and things to say.
    struct Outcome {
        var changes: [UnwatchedChange] = []
        var notices: [String] = []
        /// A scan after blind windows completed: their causes, and what it found in words.
        var reconciled: (causes: Set<BlindWindow.Cause>, finding: String, scanned: Double)?
    }

    /// Seconds a scan's differences wait for the stream: the longest an event's records
    /// take to reach the plugin and be assembled (libauparse's end-of-event timeout, 2 s).
    static let grace = 3.0
    /// Seconds after a change seen in the stream before the name is read again.
    static let settle = 1.0

    private let scanner: PlaceScanner
    private let store: BaselineStore
    private let interval: Double
    private let placeDirectories: Set<RawPath>
    private let placeFiles: Set<RawPath>
    private var baseline: Baseline
    private var unsaved = false
    /// Blind windows still open (the detector cannot see now), and those closed since the
    /// last scan.
    private var openWindows: [BlindWindow] = []
    private var closedWindows: [BlindWindow] = []
    /// When to scan (monotonic seconds): as soon as the detector can see again, or next
    /// `interval` after the last scan.
    private var scanDue: Double?
    private var nextPeriodic: Double
    /// The wall time of the last scan: a periodic scan's window starts there.
    private var lastScan: Double
    /// A scan's differences, waiting for the stream to catch up.
    private var waiting: (scan: Baseline, time: Double, changes: [BaselineChange], windows: [BlindWindow], due: Double)?
    /// Names the stream changed, to read again when due (monotonic seconds).
    private var refreshes: [RawPath: Double] = [:]
    /// Names read again since the waiting scan: newer than what it saw.
    private var refreshedSinceScan = Set<RawPath>()

    /// Loads the stored baseline and compares the places with it: what changed while the
    /// plugin was not running. The first run records the baseline silently and says so.
    init(places: [PlaceScanner.Place], store: BaselineStore, interval: Double, outcome: inout Outcome) throws(BaselineStore.Problem) {
        scanner = PlaceScanner(places: places)
        self.store = store
        self.interval = interval
        placeDirectories = Set(places.filter(\.isDirectory).map(\.path))
        placeFiles = Set(places.filter { !$0.isDirectory }.map(\.path))
        try store.prepare()
        let (wall, monotonic) = Self.clocks()
        lastScan = wall
        nextPeriodic = monotonic + interval
        let stored: Baseline?
        do { stored = try store.load() } catch {
            outcome.notices.append("the stored baseline cannot be used (\(error)): recorded anew; changes made to the places "
                                   + "before now cannot be named")
            stored = nil
        }
        let now = scanner.scan(at: Int(wall))
        guard let stored else {
            baseline = now
            if outcome.notices.isEmpty {
                outcome.notices.append("baseline of the places recorded in \(store.path): \(now.entries.count) names "
                                       + "(first run: changes made before now cannot be named)")
            }
            unsaved = true
            saveIfDue(outcome: &outcome, force: true)
            return
        }
        baseline = stored
        let window = BlindWindow(cause: .notRunning, start: Double(stored.recorded), end: wall)
        hold(now, at: wall, windows: [window], monotonic: monotonic)
    }

    /// The detector stopped seeing at `time` (wall seconds), for `cause`.
    func blind(_ cause: BlindWindow.Cause, sender: BlindWindow.Sender? = nil, since time: Double) {
        guard !openWindows.contains(where: { $0.cause == cause }) else { return }
        openWindows.append(BlindWindow(cause: cause, sender: sender, start: time, end: time))
    }

    /// Whether the detector is blind now for `cause`.
    func isBlind(_ cause: BlindWindow.Cause) -> Bool { openWindows.contains { $0.cause == cause } }

    /// The detector sees again, after `cause`: the places are scanned `delay` seconds
    /// from now.
    func seeing(_ cause: BlindWindow.Cause, delay: Double = 0) {
        let (wall, monotonic) = Self.clocks()
        for var window in openWindows where window.cause == cause {
            window.end = wall
            closedWindows.append(window)
        }
        openWindows.removeAll { $0.cause == cause }
        scanDue = min(scanDue ?? .infinity, monotonic + delay)
    }

    /// A blind time already over (records lost, a mount seen after the fact): scanned now.
    func blinded(_ cause: BlindWindow.Cause, sender: BlindWindow.Sender? = nil, from start: Double) {
        blind(cause, sender: sender, since: start)
        seeing(cause)
    }

    /// The stream saw `path` change at `eventTime` (wall seconds): it is read again once
    /// settled, and a waiting scan's difference there, if the event is older than the
    /// scan, is explained.
    func streamChanged(_ path: RawPath, at eventTime: Double) {
        guard covers(path) else { return }
        refreshes[path] = Self.clocks().monotonic + Self.settle
        if let scan = waiting, eventTime <= scan.time + 1 {
            waiting?.changes.removeAll { $0.path == path || $0.originalPath == path }
        }
    }

    /// A place was replaced wholesale (the stream said so, and alerted on the files it
    /// brought): its names are read again, unreported.
    func placeReplaced(_ place: RawPath) {
        let earlier = baseline.entries.keys.filter { $0 == place || $0.directory == place }
        for path in earlier { baseline.refresh(path, to: nil) }
        let fresh = PlaceScanner(places: [.init(path: place, isDirectory: true)]).scan(at: 0)
        for (path, entry) in fresh.entries { baseline.refresh(path, to: entry) }
        if waiting != nil {
            refreshedSinceScan.formUnion(earlier + fresh.entries.keys)
            waiting?.changes.removeAll { $0.path == place || $0.path.directory == place }
        }
        unsaved = true
    }

    /// The content digest the baseline holds for `path` (the "before" of a modification).
    func digest(of path: RawPath) -> [UInt8]? { baseline.entries[path]?.digest }

    /// The content digest of `path` on disk now (the "after" of a modification).
    func currentDigest(of path: RawPath) -> [UInt8]? { PlaceScanner.entry(at: path)?.digest }

    /// Due work: names read again, a waiting scan's differences raised, a scan when the
    /// detector sees again or the interval has passed, the baseline saved.
    func tick() -> Outcome {
        var outcome = Outcome()
        let (wall, monotonic) = Self.clocks()
        for (path, due) in refreshes where due <= monotonic {
            refreshes[path] = nil
            baseline.refresh(path, to: PlaceScanner.entry(at: path))
            if waiting != nil { refreshedSinceScan.insert(path) }
            unsaved = true
        }
        if let scan = waiting, monotonic >= scan.due {
            waiting = nil
            var current = scan.scan
            for path in refreshedSinceScan { current.refresh(path, to: baseline.entries[path] ?? PlaceScanner.entry(at: path)) }
            refreshedSinceScan = []
            baseline = current
            unsaved = true
            outcome.changes = scan.changes.map { UnwatchedChange(change: $0, windows: scan.windows, found: scan.time) }
            let causes = Set(scan.windows.map(\.cause))
            if causes != [.unexplained] {
                let finding = outcome.changes.isEmpty ? "nothing changed while unwatched"
                    : "changed while unwatched: " + outcome.changes.map(\.change.path.lossyText).joined(separator: ", ")
                outcome.reconciled = (causes, finding, scan.time)
                outcome.notices.append("places compared with their baseline after "
                                       + causes.map(\.rawValue).sorted().joined(separator: ", ") + ": " + finding)
            }
        }
        let blindNow = openWindows.contains { $0.cause == .auditingDisabled }
        if waiting == nil, !blindNow, monotonic >= min(scanDue ?? .infinity, nextPeriodic) {
            var windows = closedWindows
            if windows.isEmpty { windows = [BlindWindow(cause: .unexplained, start: lastScan, end: wall)] }
            closedWindows = []
            scanDue = nil
            hold(scanner.scan(at: Int(wall)), at: wall, windows: windows, monotonic: monotonic)
        }
        saveIfDue(outcome: &outcome)
        return outcome
    }

    /// Saves the baseline now (a clean stop), stamped with now.
    func finish() -> Outcome {
        var outcome = Outcome()
        saveIfDue(outcome: &outcome, force: true)
        return outcome
    }

    private func hold(_ scan: Baseline, at wall: Double, windows: [BlindWindow], monotonic: Double) {
        lastScan = wall
        nextPeriodic = monotonic + interval
        refreshedSinceScan = []
        // A name the stream has already changed, still settling, is explained.
        let changes = scan.changes(since: baseline).filter { change in
            refreshes[change.path] == nil && change.originalPath.map { refreshes[$0] == nil } ?? true
        }
        waiting = (scan, wall, changes, windows, monotonic + Self.grace)
    }

    /// Writes the baseline when it changed (at most once a second), or when forced; its
    /// stamp is the last time it was known true: the start of the window a restart finds.
    private var lastSaved = -Double.infinity

    private func saveIfDue(outcome: inout Outcome, force: Bool = false) {
        let (wall, monotonic) = Self.clocks()
        guard force || (unsaved && monotonic - lastSaved >= 1) || monotonic - lastSaved >= interval else { return }
        guard waiting == nil || force else { return }
        baseline.recorded = Int(wall)
        do {
            try store.save(baseline)
            unsaved = false
        } catch {
            outcome.notices.append("baseline not saved: \(error)")
        }
        lastSaved = monotonic
    }

    /// Whether `path` is a name in a place, a place, or a file the rule names.
    private func covers(_ path: RawPath) -> Bool {
        placeFiles.contains(path) || placeDirectories.contains(path) || placeDirectories.contains(path.directory)
    }

    private static func clocks() -> (wall: Double, monotonic: Double) {
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        return (Double(wall.tv_sec) + Double(wall.tv_nsec) / 1e9, MonotonicClock.seconds())
    }
}
