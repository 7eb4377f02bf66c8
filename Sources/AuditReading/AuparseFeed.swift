import CAudit
import Glibc
import Synchronization

/// libauparse 3.0.9 keeps parsing state in process globals (the interpretation list,
/// `audit_strsplit`'s cursor, `eoe_timeout`), so no two calls into it may run at once,
/// creating and destroying a parser included.
private let libauparse = Mutex(())

/// libauparse in feed mode: bytes in, one callback per assembled event.
///
/// This is the code path of both the plugin (records from auditd on stdin) and
/// replay (records from files), so the two cannot disagree about what an event is.
public final class AuparseFeed {
    private let state: OpaquePointer
    private let onEvent: (AuditEvent) -> Void
    /// Events delivered so far.
    public private(set) var eventsDelivered = 0

    /// Creates a parser that calls `onEvent` for every complete event. The event is only
    /// valid during the call.
    public init(onEvent: @escaping (AuditEvent) -> Void) {
        guard let state = libauparse.withLock({ _ in auparse_init(AUSOURCE_FEED, nil) }) else {
            fatalError("auparse_init failed: out of memory")
        }
        self.state = state
        self.onEvent = onEvent
        // Values are escaped by our outputs; libauparse must hand them over raw.
        auparse_set_escape_mode(state, AUPARSE_ESC_RAW)
        auparse_add_callback(state, { state, kind, context in
            guard kind == AUPARSE_CB_EVENT_READY, let state, let context else { return }
            let feed = Unmanaged<AuparseFeed>.fromOpaque(context).takeUnretainedValue()
            feed.eventsDelivered += 1
            feed.deliver(state)
        }, Unmanaged.passUnretained(self).toOpaque(), nil)
    }

    /// The records of the event being delivered, read from libauparse once per event
    /// (its record cursor costs hundreds of instructions a step, and every consumer walks
    /// the records); kept between events for its capacity.
    private var records: [AuditRecord] = []

    private func deliver(_ state: OpaquePointer) {
        records.removeAll(keepingCapacity: true)
        if auparse_first_record(state) > 0 {
            repeat {
                records.append(AuditRecord(type: MessageType(rawValue: auparse_get_type(state)),
                                           text: auparse_get_record_text(state).map(FieldText.init),
                                           enrichment: auparse_get_record_interpretations(state).map(FieldText.init)))
            } while auparse_next_record(state) > 0
        }
        let stamp = auparse_get_timestamp(state)?.pointee
        records.withUnsafeBufferPointer { records in
            onEvent(AuditEvent(records: records,
                               timestamp: stamp.map { ($0.sec, Int($0.milli), UInt64($0.serial), $0.host.map { String(cString: $0) }) }
                                   ?? (0, 0, 0, nil)))
        }
    }

    // auparse_destroy frees the process-wide interpretation list (free_interpretation_list),
    // which another parser may be using at that moment.
    deinit { libauparse.withLock { _ in auparse_destroy(state) } }

    /// Parses whole record lines; complete events are delivered before this returns.
    public func feed(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        libauparse.withLock { _ in _ = auparse_feed(state, base.assumingMemoryBound(to: CChar.self), bytes.count) }
    }

    /// Delivers every event libauparse still holds (end of input).
    public func flush() { libauparse.withLock { _ in _ = auparse_flush_feed(state) } }

    /// Delivers the events libauparse holds that are complete: terminated ones at once,
    /// unterminated ones once `eoe_timeout` has passed by the wall clock.
    public func ageEvents() { libauparse.withLock { _ in _ = auparse_feed_age_events(state) } }

}

/// One assembled event, borrowed from libauparse for the duration of a callback.
public struct AuditEvent {
    /// The event's records in order, valid during the callback.
    public let records: UnsafeBufferPointer<AuditRecord>

    /// The event's identity: time, serial and the `node=` name (nil when absent).
    public let timestamp: (seconds: Int, milliseconds: Int, serial: UInt64, node: String?)

    /// Calls `body` with each record in order; return false from `body` to stop.
    public func forEachRecord(_ body: (AuditRecord) -> Bool) {
        for record in records where !body(record) { return }
    }

    /// Whether a record of `type` is among the event's.
    public func contains(_ type: MessageType) -> Bool { records.contains { $0.type == type } }
}

/// One record of an `AuditEvent`: its type and text as libauparse holds them.
public struct AuditRecord {
    public let type: MessageType

    /// The record line as libauparse holds it (without the ENRICHED part).
    public let text: FieldText?

    /// The ENRICHED part of the record (after `\x1d`): `AUID="alice" UID="root" ...`.
    public let enrichment: FieldText?

    /// Calls `body` with each `name=value` token of the record's text, read directly from
    /// the line libauparse holds: one pass, no call into libauparse per field. For the
    /// kernel's system-call records (SYSCALL, CWD, PATH, EXECVE, PROCTITLE), whose values
    /// never contain spaces, this is the list libauparse's field cursor gives, at a fraction
    /// of the cost of its per-field calls.
    public func forEachTextField(_ body: (_ name: FieldText, _ value: FieldText) -> Void) {
        guard let text else { return }
        text.forEachNameValue { name, value in
            // The header (`type=`, `msg=audit(...):`) is not a field.
            if !name.equals("type") && !name.equals("msg") { body(name, value) }
        }
    }
}

/// A NUL-terminated string owned by libauparse, viewed as bytes without copying.
public struct FieldText {
    public let bytes: UnsafeRawBufferPointer

    init(_ pointer: UnsafePointer<CChar>) {
        bytes = UnsafeRawBufferPointer(start: pointer, count: strlen(pointer))
    }

    @inlinable
    public init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Whether the text is exactly `literal` (ASCII).
    @inlinable @inline(__always)
    public func equals(_ literal: StaticString) -> Bool {
        bytes.bytes(0 ..< bytes.count, equal: literal)
    }

    /// Calls `body` with each space-separated `name=value` token that has a name and a value.
    public func forEachNameValue(_ body: (_ name: FieldText, _ value: FieldText) -> Void) {
        guard let base = bytes.baseAddress else { return }
        let end = base + bytes.count
        var start = base
        while start < end {
            let tokenEnd = memchr(start, 0x20, end - start).map { UnsafeRawPointer($0) } ?? end
            if let equals = memchr(start, 0x3D, tokenEnd - start).map({ UnsafeRawPointer($0) }),
               equals > start, tokenEnd - equals > 1 {
                body(FieldText(bytes: UnsafeRawBufferPointer(start: start, count: equals - start)),
                     FieldText(bytes: UnsafeRawBufferPointer(start: equals + 1, count: tokenEnd - equals - 1)))
            }
            start = tokenEnd + 1
        }
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }
}
