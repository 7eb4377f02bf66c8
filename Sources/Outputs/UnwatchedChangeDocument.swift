import AuditReading
import PlaceBaseline
import RuleEngine

/// The alert of `UnwatchedChangeRule`: a difference between the places and their baseline
/// that no record explains, with the blind windows it may have happened in. No record
/// names a process, so the document says it is unknown rather than leaving it out.
enum UnwatchedChangeDocument {
    static func json(_ found: UnwatchedChange, rule: DetectionRule, into writer: inout JSONWriter) {
        let change = found.change
        writer.beginObject()
        writer.key("@timestamp")
        writer.asciiString { AlertDocument.appendTime(found.found, to: &$0) }
        let type = change.action == .creation ? "creation" : change.action == .deletion ? "deletion" : "change"
        FileEventDocument.writeEvent(kind: "alert", category: "file", type: type, action: change.action.rawValue,
                                     id: { $0 += Array("scan:".utf8); $0.appendDecimal(UInt64(max(0, found.found))) },
                                     host: nil, into: &writer)
        writer.beginObject("file")
        FileEventDocument.writePathMember(change.path, into: &writer)
        if let after = change.after { writeEntry(after, into: &writer) }
        if let original = change.originalPath {
            writer.beginObject("Ext"); writer.beginObject("original")
            FileEventDocument.writePathMember(original, into: &writer)
            writer.endObject(); writer.endObject()
        }
        writer.endObject()
        writer.beginObject("process")
        writer.beginObject("Ext"); writer.member("executable_unknown", flag: true); writer.endObject()
        writer.endObject()
        writer.beginObject("audisp_lkm")
        writer.member("process", "unknown: no audit record saw the change")
        if let before = change.before {
            writer.beginObject("before"); writeEntry(before, into: &writer); writer.endObject()
        }
        writer.key("blind_windows")
        writer.beginArray()
        for window in found.windows {
            writer.beginObject()
            writer.member("cause", window.cause.rawValue)
            writer.key("start"); writer.asciiString { AlertDocument.appendTime(window.start, to: &$0) }
            writer.key("end"); writer.asciiString { AlertDocument.appendTime(window.end, to: &$0) }
            if let sender = window.sender {
                writer.beginObject("by")
                writer.member("auid", decimalString: sender.auditID)
                writer.member("auid_name", sender.auditName)
                writer.member("pid", number: sender.pid)
                writer.member("executable", sender.executable)
                writer.member("command_line", sender.commandLine)
                writer.endObject()
            }
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        AlertDocument.writeRule(rule, into: &writer)
        writer.endObject()
    }

    /// One `key=value` line: the change, both digests, and each window as
    /// `blinded_by=CAUSE blind_from=TIME blind_until=TIME` with its sender's fields.
    static func text(_ found: UnwatchedChange, rule: DetectionRule, into line: inout KeyValueLine) {
        let change = found.change
        line.add("alert", rule.name)
        line.add("rule_id", rule.ruleID)
        line.add("severity", rule.severity)
        line.add("risk_score", number: rule.riskScore)
        line.add("action", change.action.rawValue)
        line.add("path", change.path)
        line.add("original_path", change.originalPath)
        line.add("sha256_before", change.before?.digestText)
        line.add("sha256_after", change.after?.digestText)
        line.add("inode_before", number: change.before?.inode)
        line.add("inode_after", number: change.after?.inode)
        line.add("mode_before", change.before.map { String($0.mode & 0o7777, radix: 8) })
        line.add("mode_after", change.after.map { String($0.mode & 0o7777, radix: 8) })
        line.add("process", "unknown")
        for window in found.windows {
            var start: [UInt8] = [], end: [UInt8] = []
            AlertDocument.appendTime(window.start, to: &start)
            AlertDocument.appendTime(window.end, to: &end)
            line.add("blinded_by", window.cause.rawValue)
            line.add("blind_from", start)
            line.add("blind_until", end)
            line.add("by_auid", number: window.sender?.auditID)
            line.add("by_pid", number: window.sender?.pid)
            line.add("by_executable", window.sender?.executable)
            line.add("by_command_line", window.sender?.commandLine)
        }
    }

    private static func writeEntry(_ entry: PlaceEntry, into writer: inout JSONWriter) {
        writer.member("type", entry.kind.rawValue)
        writer.member("inode", decimalString: entry.inode)
        writer.member("size", number: entry.size)
        writer.member("mode", String(entry.mode & 0o7777, radix: 8))
        writer.member("uid", decimalString: entry.owner)
        writer.member("gid", decimalString: entry.group)
        writer.key("mtime"); writer.asciiString { AlertDocument.appendTime(Double(entry.modified.seconds), to: &$0) }
        if let digest = entry.digestText { writer.beginObject("hash"); writer.member("sha256", digest); writer.endObject() }
        switch entry.content {
        case .tooLarge: writer.member("content", "too large to hash")
        case .mountPoint: writer.member("content", "a mount point, not read")
        case .unreadable(let code): writer.member("content", "unreadable (errno \(code))")
        case .digest, .none: break
        }
    }
}
