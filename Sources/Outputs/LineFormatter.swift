import FileEvents
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
    public mutating func alert(_ event: FileEvent, rule: DetectionRule) -> [UInt8] {
        switch format {
        case .json:
            json.reset()
            AlertDocument.json(event, rule: rule, into: &json)
            return json.bytes
        case .text:
            text.reset()
            AlertDocument.text(event, rule: rule, into: &text)
            return text.bytes
        }
    }

    /// A normalised file event (`replay --events`).
    public mutating func event(_ event: FileEvent) -> [UInt8] {
        switch format {
        case .json:
            json.reset()
            FileEventDocument.json(event, into: &json)
            return json.bytes
        case .text:
            text.reset()
            event.keyValueLine(into: &text)
            return text.bytes
        }
    }

    /// A message from audisp-lkm itself among the alerts, such as how many were withheld:
    /// `audisp_lkm=notice message="..."`, or `{"audisp_lkm":{"notice":"..."}}`.
    public mutating func notice(_ message: String) -> [UInt8] {
        switch format {
        case .json:
            json.reset()
            json.beginObject()
            json.beginObject("audisp_lkm")
            json.member("notice", message)
            json.endObject()
            json.endObject()
            return json.bytes
        case .text:
            text.reset()
            text.add("audisp_lkm", "notice")
            text.add("message", message)
            return text.bytes
        }
    }
}
