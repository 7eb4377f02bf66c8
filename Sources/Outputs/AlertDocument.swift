import FileEvents
import RuleEngine

/// An alert: the file event's ECS fields plus the rule's (`rule.*`, `threat`,
/// `kibana.alert.severity` and `risk_score`, as Elastic's own alert documents carry them).
public enum AlertDocument {
    public static func json(_ event: FileEvent, rule: DetectionRule, into writer: inout JSONWriter) {
        writer.beginObject()
        FileEventDocument.writeMembers(of: event, kind: "alert", into: &writer)
        writeRule(rule, into: &writer)
        writer.endObject()
    }

    /// A watch-removal alert: who removed which watch of the detector, and when.
    public static func json(_ change: AuditRuleChange, rule: DetectionRule, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("@timestamp")
        writer.asciiString { Timestamp.appendISO8601(seconds: change.seconds, milliseconds: change.milliseconds, to: &$0) }
        FileEventDocument.writeEvent(kind: "alert", category: "configuration", type: "deletion",
                                     action: WatchRemovalRule.action(for: change), id: change.appendEventID, host: change.node,
                                     into: &writer)
        if let path = change.path {
            writer.beginObject("file"); writer.member("path", path); writer.endObject()
        }
        writer.beginObject("user")
        writer.beginObject("audit"); writer.member("id", decimalString: change.auditID); writer.member("name", change.auditName); writer.endObject()
        writer.endObject()
        writer.beginObject("auditd")
        writer.member("op", change.operation)
        writer.member("audit_enabled", number: change.auditEnabled)
        writer.key("key"); writer.beginArray()
        for key in change.keys { writer.string(key) }
        writer.endArray()
        writer.member("list", number: change.list)
        writer.member("list_name", change.listName)
        writer.member("session", decimalString: change.session)
        writer.endObject()
        writeRule(rule, into: &writer)
        writer.endObject()
    }

    private static func writeRule(_ rule: DetectionRule, into writer: inout JSONWriter) {
        writer.beginObject("rule")
        writer.member("name", rule.name)
        writer.member("id", rule.ruleID)
        writer.member("version", rule.version.map(String.init))
        writer.member("description", rule.description)
        writer.member("license", rule.license)
        writer.key("author"); writeStrings(rule.authors, into: &writer)
        writer.key("reference"); writeStrings(rule.references, into: &writer)
        writer.key("tags"); writeStrings(rule.tags, into: &writer)
        writer.endObject()
        writer.beginObject("kibana")
        writer.beginObject("alert")
        writer.member("severity", rule.severity)
        writer.member("risk_score", number: rule.riskScore)
        writer.endObject()
        writer.endObject()
        writer.key("threat")
        writer.beginArray()
        for threat in rule.threats {
            writer.beginObject()
            writer.member("framework", threat.framework)
            writer.beginObject("tactic"); writeEntry(threat.tactic, into: &writer); writer.endObject()
            writer.key("technique")
            writer.beginArray()
            for technique in threat.techniques {
                writer.beginObject()
                writeEntry(technique.entry, into: &writer)
                writer.key("subtechnique")
                writer.beginArray()
                for sub in technique.subtechniques {
                    writer.beginObject(); writeEntry(sub, into: &writer); writer.endObject()
                }
                writer.endArray()
                writer.endObject()
            }
            writer.endArray()
            writer.endObject()
        }
        writer.endArray()
    }

    /// The alert as one `key=value` line: the rule, then the event.
    public static func text(_ event: FileEvent, rule: DetectionRule, into line: inout KeyValueLine) {
        line.add("alert", rule.name)
        line.add("rule_id", rule.ruleID)
        line.add("severity", rule.severity)
        line.add("risk_score", number: rule.riskScore)
        event.keyValueLine(into: &line)
    }

    /// A watch-removal alert as one `key=value` line.
    public static func text(_ change: AuditRuleChange, rule: DetectionRule, into line: inout KeyValueLine) {
        line.add("alert", rule.name)
        line.add("rule_id", rule.ruleID)
        line.add("severity", rule.severity)
        line.add("risk_score", number: rule.riskScore)
        var id: [UInt8] = []
        change.appendEventID(to: &id)
        line.add("event_id", id)
        line.add("node", change.node)
        line.add("action", WatchRemovalRule.action(for: change))
        line.add("op", change.operation)
        line.add("key", change.keys.joined(separator: [UInt8(ascii: ",")]).map { $0 })
        line.add("list", change.listName ?? change.list.map(String.init))
        line.add("path", change.path)
        line.add("auid", number: change.auditID)
        line.add("auid_name", change.auditName)
        line.add("ses", number: change.session)
    }

    private static func writeEntry(_ entry: DetectionRule.Entry, into writer: inout JSONWriter) {
        writer.member("id", entry.id)
        writer.member("name", entry.name)
        writer.member("reference", entry.reference)
    }

    private static func writeStrings(_ values: [String], into writer: inout JSONWriter) {
        writer.beginArray()
        for value in values { writer.string(value) }
        writer.endArray()
    }
}
