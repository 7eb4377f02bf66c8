import FileEvents
import RuleEngine

/// An alert: the file event's ECS fields plus the rule's (`rule.*`, `threat`,
/// `kibana.alert.severity` and `risk_score`, as Elastic's own alert documents carry them).
public enum AlertDocument {
    public static func json(_ event: FileEvent, rule: DetectionRule, into writer: inout JSONWriter) {
        writer.beginObject()
        FileEventDocument.writeMembers(of: event, kind: "alert", into: &writer)
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
        writer.endObject()
    }

    /// The alert as one `key=value` line: the rule, then the event.
    public static func text(_ event: FileEvent, rule: DetectionRule, into line: inout KeyValueLine) {
        line.add("alert", rule.name)
        line.add("rule_id", rule.ruleID)
        line.add("severity", rule.severity)
        line.add("risk_score", number: rule.riskScore)
        event.keyValueLine(into: &line)
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
