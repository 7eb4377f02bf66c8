import FileEvents
import RuleEngine

/// An alert: the file event's ECS fields plus the rule's (`rule.*`, `threat`,
/// `kibana.alert.severity` and `risk_score`, as Elastic's own alert documents carry them).
public enum AlertDocument {
    /// `borrowed`: for `BorrowedExclusionRule`, the clauses that excluded it and why none
    /// was earned (`audisp_lkm.borrowed`).
    public static func json(_ event: FileEvent, rule: DetectionRule, borrowed: [BorrowedExclusionRule.Clause] = [],
                            into writer: inout JSONWriter) {
        writer.beginObject()
        FileEventDocument.writeMembers(of: event, kind: "alert", into: &writer)
        if !borrowed.isEmpty {
            writer.beginObject("audisp_lkm")
            writer.key("borrowed")
            writer.beginArray()
            for clause in borrowed {
                writer.beginObject()
                writer.member("clause", clause.text)
                writer.member("because", clause.borrowedBecause)
                writer.endObject()
            }
            writer.endArray()
            writer.endObject()
        }
        writeRule(rule, into: &writer)
        writer.endObject()
    }

    /// A watch-removal alert: one sender's burst of removals, with its first record's
    /// fields, the rules removed per list, the sender, whether the watches came back and
    /// who put them back, and (live) what comparing the places with their baseline found.
    public static func json(_ burst: WatchRemovalBurst, rule: DetectionRule, reconciled: String?, into writer: inout JSONWriter) {
        writer.beginObject()
        writeMembers(of: burst.first, rule: rule, into: &writer)
        writer.beginObject("process")
        writer.member("pid", number: burst.first.pid)
        writer.member("executable", burst.first.executable)
        writer.member("command_line", burst.first.commandLine)
        writer.endObject()
        writer.beginObject("audisp_lkm")
        writer.key("removed")
        writer.beginArray()
        for list in burst.removed.keys.sorted() {
            writer.beginObject(); writer.member("list", list); writer.member("count", number: burst.removed[list]!); writer.endObject()
        }
        writer.endArray()
        writer.member("auditing_disabled", flag: burst.disablesAuditing)
        writer.key("last"); writer.asciiString { appendTime(burst.last, to: &$0) }
        writer.member("restored", number: burst.restored)
        if let by = burst.restoredBy {
            writer.beginObject("restored_by")
            writer.member("pid", number: by.pid)
            writer.member("executable", by.executable)
            writer.member("auid", decimalString: by.auditID)
            writer.endObject()
        }
        writer.member("reconciled", reconciled)
        writer.endObject()
        writer.endObject()
    }

    /// The burst as one `key=value` line.
    public static func text(_ burst: WatchRemovalBurst, rule: DetectionRule, reconciled: String?, into line: inout KeyValueLine) {
        text(burst.first, rule: rule, into: &line)
        line.add("pid", number: burst.first.pid)
        line.add("executable", burst.first.executable)
        line.add("command_line", burst.first.commandLine)
        for list in burst.removed.keys.sorted() { line.add("removed", "\(list):\(burst.removed[list]!)") }
        var last: [UInt8] = []
        appendTime(burst.last, to: &last)
        line.add("last", last)
        line.add("restored", number: burst.restored)
        line.add("restored_by_pid", number: burst.restoredBy?.pid)
        line.add("restored_by", burst.restoredBy?.executable)
        line.add("reconciled", reconciled)
    }

    /// The watch-removal alert's members, into an object already begun (the compliance
    /// report adds its own).
    public static func writeMembers(of change: AuditRuleChange, rule: DetectionRule, into writer: inout JSONWriter) {
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
    }

    /// `event.action` of a summary of withheld alerts.
    public static let withheldAction = "alerts-withheld"

    /// A summary of alerts the cap withheld from one group: who, where, how many, when,
    /// and a sample of the paths with their event ids.
    public static func json(_ summary: AlertCap.Summary, rule: DetectionRule, into writer: inout JSONWriter) {
        writer.beginObject()
        let (seconds, milliseconds) = split(summary.last)
        writer.key("@timestamp")
        writer.asciiString { Timestamp.appendISO8601(seconds: seconds, milliseconds: milliseconds, to: &$0) }
        FileEventDocument.writeEvent(kind: "alert", category: "file", type: "info", action: withheldAction,
                                     id: { $0.append(contentsOf: (summary.sample.first?.eventID ?? "").utf8) },
                                     host: summary.group.host, into: &writer)
        writer.beginObject("process")
        writer.member("executable", summary.group.executable)
        writer.member("name", summary.group.executable?.lastComponent)
        writer.endObject()
        writer.beginObject("file"); writer.member("directory", summary.group.directory); writer.endObject()
        writer.beginObject("audisp_lkm")
        writer.beginObject("withheld")
        writer.member("count", number: summary.withheld)
        writer.member("by_ceiling", number: summary.byCeiling)
        writer.key("first")
        writer.asciiString { appendTime(summary.first, to: &$0) }
        writer.key("last")
        writer.asciiString { appendTime(summary.last, to: &$0) }
        writer.member("overflow_group", flag: summary.group.isOverflow)
        writer.key("sample")
        writer.beginArray()
        for entry in summary.sample {
            writer.beginObject()
            writer.member("path", entry.path)
            writer.member("event_id", entry.eventID)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        writer.endObject()
        writeRule(rule, into: &writer)
        writer.endObject()
    }

    /// The summary as one `key=value` line; `sample` lists `PATH@EVENT_ID` separated by
    /// spaces, inside one quoted value.
    public static func text(_ summary: AlertCap.Summary, rule: DetectionRule, into line: inout KeyValueLine) {
        line.add("alert", rule.name)
        line.add("rule_id", rule.ruleID)
        line.add("action", withheldAction)
        line.add("node", summary.group.host)
        line.add("executable", summary.group.executable)
        line.add("directory", summary.group.directory)
        line.add("overflow_group", summary.group.isOverflow ? "yes" : nil)
        line.add("withheld", number: summary.withheld)
        line.add("by_ceiling", number: summary.byCeiling)
        var first: [UInt8] = [], last: [UInt8] = []
        appendTime(summary.first, to: &first)
        appendTime(summary.last, to: &last)
        line.add("first", first)
        line.add("last", last)
        var sample: [UInt8] = []
        for entry in summary.sample {
            if !sample.isEmpty { sample.append(UInt8(ascii: " ")) }
            sample += (entry.path?.bytes ?? Array("?".utf8)) + [UInt8(ascii: "@")] + Array(entry.eventID.utf8)
        }
        line.add("sample", sample)
    }

    private static func split(_ time: Double) -> (Int, Int) {
        let milliseconds = Int((time * 1000).rounded(.down))
        return (milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000, ((milliseconds % 1000) + 1000) % 1000)
    }

    /// Seconds since the epoch (with a fraction) as ISO 8601 with milliseconds.
    static func appendTime(_ time: Double, to output: inout [UInt8]) {
        let (seconds, milliseconds) = split(time)
        Timestamp.appendISO8601(seconds: seconds, milliseconds: milliseconds, to: &output)
    }

    static func writeRule(_ rule: DetectionRule, into writer: inout JSONWriter) {
        writer.repeatedMembers(key: "\(rule.ruleID)\u{0}\(rule.name)\u{0}\(rule.version ?? -1)") { writeRuleMembers(rule, into: &$0) }
    }

    private static func writeRuleMembers(_ rule: DetectionRule, into writer: inout JSONWriter) {
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
    public static func text(_ event: FileEvent, rule: DetectionRule, borrowed: [BorrowedExclusionRule.Clause] = [],
                            into line: inout KeyValueLine) {
        line.add("alert", rule.name)
        line.add("rule_id", rule.ruleID)
        line.add("severity", rule.severity)
        line.add("risk_score", number: rule.riskScore)
        event.keyValueLine(into: &line)
        for clause in borrowed {
            line.add("borrowed", clause.text)
            line.add("because", clause.borrowedBecause)
        }
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
