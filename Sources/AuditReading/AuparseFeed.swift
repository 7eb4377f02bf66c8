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
            feed.onEvent(AuditEvent(state: state))
        }, Unmanaged.passUnretained(self).toOpaque(), nil)
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
    fileprivate let state: OpaquePointer

    /// The event's identity: time, serial and the `node=` name (nil when absent).
    public var timestamp: (seconds: Int, milliseconds: Int, serial: UInt64, node: String?) {
        guard let stamp = auparse_get_timestamp(state)?.pointee else { return (0, 0, 0, nil) }
        return (stamp.sec, Int(stamp.milli), UInt64(stamp.serial), stamp.host.map { String(cString: $0) })
    }

    /// Calls `body` with each record in order; return false from `body` to stop.
    public func forEachRecord(_ body: (AuditRecord) -> Bool) {
        guard auparse_first_record(state) > 0 else { return }
        repeat {
            if !body(AuditRecord(state: state)) { return }
        } while auparse_next_record(state) > 0
    }
}

/// The current record of an `AuditEvent`.
public struct AuditRecord {
    fileprivate let state: OpaquePointer

    public var type: MessageType { MessageType(rawValue: auparse_get_type(state)) }

    /// Calls `body` with each `name=value` token of the record's text, read directly from
    /// the line libauparse holds: one pass, no call into libauparse per field. For the
    /// kernel's system-call records (SYSCALL, CWD, PATH, EXECVE, PROCTITLE), whose values
    /// never contain spaces, this is the list libauparse's field cursor gives, at a fraction
    /// of the cost of its per-field calls.
    public func forEachTextField(_ body: (_ name: FieldText, _ value: FieldText) -> Void) {
        guard let text = self.text else { return }
        text.forEachNameValue { name, value in
            // The header (`type=`, `msg=audit(...):`) is not a field.
            if !name.equals("type") && !name.equals("msg") { body(name, value) }
        }
    }

    /// The ENRICHED part of the record (after `\x1d`): `AUID="alice" UID="root" ...`.
    public var enrichment: FieldText? {
        auparse_get_record_interpretations(state).map(FieldText.init)
    }

    /// The record line as libauparse holds it (without the ENRICHED part).
    public var text: FieldText? { auparse_get_record_text(state).map(FieldText.init) }
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
