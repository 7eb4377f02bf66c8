import FileEvents
import PlaceBaseline
import RuleEngine

/// The two output formats: one ECS JSON document or one `key=value` line per item.
public enum OutputFormat: String, CaseIterable, Sendable {
    case json, text
}

/// Turns alerts, file events and the tool's own notices into output lines (without the
/// newline), reusing its buffers from line to line.
public struct LineFormatter {
    public let format: OutputFormat
    private var json = JSONWriter()
    private var text = KeyValueLine()

    public init(format: OutputFormat) { self.format = format }

    /// An alert: the file event with the rule that matched it.
    public mutating func alert(_ event: FileEvent, rule: DetectionRule, borrowed: [BorrowedExclusionRule.Clause] = []) -> [UInt8] {
        line { AlertDocument.json(event, rule: rule, borrowed: borrowed, into: &$0) }
            text: { AlertDocument.text(event, rule: rule, borrowed: borrowed, into: &$0) }
    }

    /// A watch-removal alert: one sender's burst of changes to the audit rules, with
    /// audisp-lkm's own rule; live, with what the places' reconcile found.
    public mutating func alert(_ burst: WatchRemovalBurst, rule: DetectionRule, reconciled: String? = nil) -> [UInt8] {
        line { AlertDocument.json(burst, rule: rule, reconciled: reconciled, into: &$0) }
            text: { AlertDocument.text(burst, rule: rule, reconciled: reconciled, into: &$0) }
    }

    /// A change to the places that no record explains (`UnwatchedChangeRule`).
    public mutating func alert(_ change: UnwatchedChange, rule: DetectionRule) -> [UInt8] {
        line { UnwatchedChangeDocument.json(change, rule: rule, into: &$0) } text: { UnwatchedChangeDocument.text(change, rule: rule, into: &$0) }
    }

    /// A summary of the alerts the cap withheld from one group.
    public mutating func summary(_ summary: AlertCap.Summary, rule: DetectionRule) -> [UInt8] {
        line { AlertDocument.json(summary, rule: rule, into: &$0) } text: { AlertDocument.text(summary, rule: rule, into: &$0) }
    }

    /// A normalised file event (`replay --events`).
    public mutating func event(_ event: FileEvent) -> [UInt8] {
        line { FileEventDocument.json(event, into: &$0) } text: { event.keyValueLine(into: &$0) }
    }

    /// A message from audisp-lkm itself among the alerts, such as how many were withheld:
    /// `audisp_lkm=notice message="..."`, or `{"audisp_lkm":{"notice":"..."}}`.
    public mutating func notice(_ message: String) -> [UInt8] {
        line { json in
            json.beginObject()
            json.beginObject("audisp_lkm")
            json.member("notice", message)
            json.endObject()
            json.endObject()
        } text: { text in
            text.add("audisp_lkm", "notice")
            text.add("message", message)
        }
    }

    /// What decided a candidate (`replay --explain`): `explain=EVENT_ID path=... verdict=...`
    /// and the details, or as JSON `{"audisp_lkm":{"explain":{"event_id":...,"path":...,
    /// "verdict":...}}}` with the details as members.
    public mutating func explanation(_ event: FileEvent, verdict: String,
                                     details: [(key: StaticString, value: [UInt8]?)]) -> [UInt8] {
        line { json in
            json.beginObject()
            json.beginObject("audisp_lkm")
            json.beginObject("explain")
            json.key("event_id")
            json.asciiString { event.appendEventID(to: &$0) }
            json.member("node", event.node)
            json.member("path", event.file.path)
            json.member("verdict", verdict)
            for (key, value) in details { json.member(key, value) }
            json.endObject()
            json.endObject()
            json.endObject()
        } text: { text in
            text.add("explain", event.eventID)
            text.add("path", event.file.path)
            text.add("verdict", verdict)
            for (key, value) in details { text.add(key, value) }
        }
    }

    /// One line in the configured format, written by the matching closure.
    private mutating func line(json writeJSON: (inout JSONWriter) -> Void, text writeText: (inout KeyValueLine) -> Void) -> [UInt8] {
        switch format {
        case .json:
            json.reset()
            writeJSON(&json)
            return json.bytes
        case .text:
            text.reset()
            writeText(&text)
            return text.bytes
        }
    }
}
