import Glibc

/// Reads audit logs into events: bytes → lines → regrouped events → libauparse.
///
/// Accepts what auditd writes (RAW and ENRICHED, with or without `node=`), `ausearch
/// --raw` output, and `ausearch`'s default output, whose `----` blocks list an event's
/// records last to first: each block is put back in kernel order and closed as one
/// event. `ausearch -i` output is refused: its timestamps are dates and its values are
/// interpreted, so it cannot be replayed faithfully.
public final class AuditLogReader {
    /// Lines longer than this are skipped and counted: the kernel's largest record is
    /// 8970 bytes (MAX_AUDIT_MESSAGE_LENGTH), and ENRICHED adds a few hundred.
    public static let maximumLineLength = 1 << 16

    // Every record passes through these: a reader is used by one thread at a time, so
    // the run-time exclusivity checks on a class's properties (several per record) are
    // left out for them.
    @exclusivity(unchecked) public private(set) var statistics = ReadStatistics()
    @exclusivity(unchecked) private var regrouper: EventRegrouper
    private let parser: AuparseFeed
    @exclusivity(unchecked) private var completed: [UInt8] = []
    @exclusivity(unchecked) private var pendingLine: [UInt8] = []
    private var discardingLongLine = false
    private var format = InputFormat.undecided
    private var checkedForInterpretation = false
    private var ausearchBlock: [[UInt8]] = []
    /// The input being read, and why reading it stopped early.
    private var inputName = ""
    private var failure: ReplayInputError?

    /// Creates a reader that calls `onEvent` for each event `selector` has parsed (every
    /// event when nil); the event is valid during the call.
    public init(endOfEventTimeout: UInt64 = 2, selector: ((EventSummary) -> EventDisposition)? = nil,
                onEvent: @escaping (AuditEvent) -> Void) {
        regrouper = EventRegrouper(endOfEventTimeout: endOfEventTimeout, selector: selector)
        parser = AuparseFeed(onEvent: onEvent)
    }

    /// Reads all of `input`, calling `progress` with the bytes consumed about every 4 MiB.
    public func read(_ input: LogInput, progress: ((Int64) -> Void)? = nil) throws(ReplayInputError) {
        format = .undecided
        checkedForInterpretation = false
        inputName = input.name
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        var sinceProgress = 0
        while failure == nil {
            let count: Int
            do { count = try input.read(into: chunk) } catch {
                failure = .unreadable(error)
                break
            }
            if count == 0 { break }
            split(UnsafeRawBufferPointer(rebasing: chunk[..<count]))
            sinceProgress += count
            if sinceProgress >= 4 << 20, let progress {
                sinceProgress = 0
                progress(input.bytesConsumed)
            }
        }
        if failure == nil { takeLastLine() }
        pendingLine.removeAll(keepingCapacity: true)
        discardingLongLine = false
        endAusearchBlock()
        passToParser(atLeast: 0)
        if let failure {
            self.failure = nil
            throw failure
        }
    }

    /// Reads the next piece of a live record stream (the plugin's standard input, as
    /// auditd writes it): every event it completes is delivered before this returns; a
    /// line cut at the end of `bytes` waits for the rest.
    public func consume(_ bytes: UnsafeRawBufferPointer) {
        // auditd sends record lines, never ausearch output.
        format = .raw
        checkedForInterpretation = true
        split(bytes)
        passToParser(atLeast: 0)
    }

    /// The time of the newest record read (stream time, seconds).
    public var newestRecordSeconds: UInt64 { regrouper.newestSeconds }

    /// Completes the events that can no longer grow at stream time `now` (seconds):
    /// those older than the end-of-event timeout, and the last complete event, which
    /// libauparse holds back until more input arrives (audit-userspace#286). The plugin
    /// calls this whenever its input drains, so an alert never waits for the next record.
    /// (libauparse is only ever given events closed by an EOE, so it judges none by its
    /// own wall-clock timeout.)
    public func age(now: UInt64) {
        regrouper.completeExpired(now: now, to: &completed)
        passToParser(atLeast: 0)
        parser.ageEvents()
        updateEventCounts()
    }

    /// Cuts `bytes` into lines; a line that continues past the chunk waits in `pendingLine`.
    private func split(_ bytes: UnsafeRawBufferPointer) {
        var start = 0
        while start < bytes.count, failure == nil {
            guard let newline = memchr(bytes.baseAddress! + start, 0x0A, bytes.count - start) else {
                appendPending(UnsafeRawBufferPointer(rebasing: bytes[start...]))
                return
            }
            let end = bytes.baseAddress!.distance(to: UnsafeRawPointer(newline))
            let piece = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            start = end + 1
            if pendingLine.isEmpty && !discardingLongLine {
                take(line: piece)
                continue
            }
            appendPending(piece)
            if discardingLongLine {
                discardingLongLine = false
            } else {
                takePendingLine()
            }
        }
    }

    private func takePendingLine() {
        let line = pendingLine
        pendingLine.removeAll(keepingCapacity: true)
        line.withUnsafeBytes { take(line: $0) }
    }

    /// A last line without a newline (a log cut mid-write) is still a record.
    private func takeLastLine() {
        if !pendingLine.isEmpty && !discardingLongLine { takePendingLine() }
        discardingLongLine = false
    }

    /// Completes every open event and delivers it (end of all input).
    public func finish() {
        takeLastLine()
        endAusearchBlock()
        regrouper.completeAll(to: &completed)
        passToParser(atLeast: 0)
        parser.flush()
        updateEventCounts()
    }

    private func appendPending(_ bytes: UnsafeRawBufferPointer) {
        if discardingLongLine { return }
        if pendingLine.count + bytes.count > Self.maximumLineLength {
            statistics.overlongLines += 1
            pendingLine.removeAll(keepingCapacity: true)
            discardingLongLine = true
        } else {
            pendingLine.append(contentsOf: bytes)
        }
    }

    private func take(line: UnsafeRawBufferPointer) {
        if line.isEmpty || line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
        if line.count > Self.maximumLineLength {
            statistics.overlongLines += 1
            return
        }
        // libauparse works on C strings: a NUL would silently cut the record short.
        if memchr(line.baseAddress!, 0, line.count) != nil {
            statistics.malformedLines += 1
            return
        }
        if format == .undecided { format = InputFormat.detect(firstLine: line) }
        if format == .ausearch {
            if line.starts(at: 0, with: "----") {
                endAusearchBlock()
                return
            }
            if line.starts(at: 0, with: "time->") { return }
        }
        if !checkedForInterpretation {
            checkedForInterpretation = true
            if InputFormat.isInterpreted(line) {
                failure = .interpreted(input: inputName)
                return
            }
        }
        if format == .ausearch {
            ausearchBlock.append([UInt8](line))
        } else {
            add(record: line)
        }
    }

    private func add(record line: UnsafeRawBufferPointer) {
        if regrouper.add(line: line, to: &completed) {
            statistics.records += 1
            passToParser(atLeast: 1 << 18)
        } else {
            statistics.malformedLines += 1
        }
    }

    private func endAusearchBlock() {
        guard !ausearchBlock.isEmpty else { return }
        for line in ausearchBlock.reversed() {
            line.withUnsafeBytes { add(record: $0) }
        }
        ausearchBlock.removeAll(keepingCapacity: true)
        regrouper.completeAll(to: &completed)
    }

    private func passToParser(atLeast threshold: Int) {
        guard completed.count > threshold || (threshold == 0 && !completed.isEmpty) else { return }
        completed.withUnsafeBytes { parser.feed($0) }
        completed.removeAll(keepingCapacity: true)
        updateEventCounts()
    }

    private func updateEventCounts() {
        statistics.events = regrouper.completedEvents
        statistics.parsedEvents = parser.eventsDelivered
        statistics.forcedCompletions = regrouper.forcedCompletions
        statistics.recordsBeyondEventLimits = regrouper.recordsBeyondEventLimits
    }
}

/// Counts a replay reports, so that nothing is skipped silently.
public struct ReadStatistics: Sendable {
    public init() {}
    /// Record lines passed on to libauparse.
    public var records = 0
    /// Events assembled from the records (libauparse's grouping).
    public var events = 0
    /// Of those, the events parsed by libauparse: all of them, or those the selector chose.
    public var parsedEvents = 0
    /// Lines skipped: no `msg=audit(...)` header libauparse can read, or NUL bytes.
    public var malformedLines = 0
    /// Lines skipped for exceeding `AuditLogReader.maximumLineLength`.
    public var overlongLines = 0
    /// Events completed early because too many were open at once.
    public var forcedCompletions = 0
    /// Records left out of events past the regrouper's limits (records, PATH records and
    /// bytes per event).
    public var recordsBeyondEventLimits = 0
}

/// Why an input cannot be replayed.
public enum ReplayInputError: Error, CustomStringConvertible {
    case unreadable(LogInputError)
    case interpreted(input: String)

    public var description: String {
        switch self {
        case .unreadable(let error):
            return error.description
        case .interpreted(let input):
            return "\(input): this is interpreted `ausearch -i` output, which cannot be replayed faithfully; "
                + "produce it with `ausearch --raw` instead"
        }
    }
}

/// The shape of one input, decided by its first non-blank line.
enum InputFormat {
    case undecided
    /// Record lines as auditd writes them (also `ausearch --raw`).
    case raw
    /// `ausearch`'s default output: `----` and `time->` lines around reversed records.
    case ausearch

    static func detect(firstLine line: UnsafeRawBufferPointer) -> InputFormat {
        line.starts(at: 0, with: "----") || line.starts(at: 0, with: "time->") ? .ausearch : .raw
    }

    /// `ausearch -i` prints `msg=audit(11/27/26 06:28:13.159:150)`: a date, not seconds.
    static func isInterpreted(_ line: UnsafeRawBufferPointer) -> Bool {
        let window = UnsafeRawBufferPointer(rebasing: line[..<min(line.count, 400)])
        let marker = Array("msg=audit(".utf8)
        guard let start = (0...max(0, window.count - marker.count)).first(where: { offset in
            offset + marker.count <= window.count && window[offset ..< offset + marker.count].elementsEqual(marker)
        }) else { return false }
        var i = start + marker.count
        while i < window.count, (48...57).contains(window[i]) { i += 1 }
        return i < window.count && window[i] == UInt8(ascii: "/")
    }
}
