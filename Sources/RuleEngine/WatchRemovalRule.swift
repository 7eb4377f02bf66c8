import FileEvents

/// audisp-lkm's own rule: a watch the detector depends on was removed from the kernel
/// (`auditctl -D`, `auditctl -W ...`, `augenrules --load` with our file gone), or
/// auditing was switched off (`auditctl -e 0`), which blinds it. Decided in code from
/// CONFIG_CHANGE records: `op=remove_rule`, `res=1` and a key among the detector's watch
/// keys; or `audit_enabled=0`, `res=1`. Adding rules is not an alert.
public struct WatchRemovalRule: Sendable {
    /// The rule's metadata, in the same form as detection rules, for the alert documents
    /// (the same whatever the keys).
    public static let metadata = DetectionRule.embedded(toml)
    /// The keys of the detector's watches (`-k audisp-lkm`).
    public let keys: Set<[UInt8]>

    public init(keys: [String]) {
        self.keys = Set(keys.map { Array($0.utf8) })
    }

    /// Whether `change` removed one of the detector's watches.
    public func matches(_ change: AuditRuleChange) -> Bool {
        change.removesRule && change.keys.contains { keys.contains($0) } || change.disablesAuditing
    }

    /// `event.action` of its alerts: a watch removed, or auditing switched off.
    public static func action(for change: AuditRuleChange) -> String {
        change.disablesAuditing ? "auditing-disabled" : "audit-watch-removed"
    }

    static let toml = #"""
[rule]
author = ["audisp-lkm"]
description = """
An audit watch that audisp-lkm relies on to see kernel-module configuration files being created was removed from the \
kernel. Until it is loaded again, creations in the place it covered raise no alert. The login user who removed it is \
in user.audit.
"""
license = "Apache License 2.0"
name = "Audit Watch on Kernel Module Configuration Removed"
risk_score = 47
rule_id = "5b0f1d0e-6f3a-4c56-9d54-4a1e0c6a7b21"
severity = "medium"
tags = ["Domain: Endpoint", "OS: Linux", "Use Case: Threat Detection", "Tactic: Defense Evasion", "Data Source: Auditd"]
type = "eql"
query = "CONFIG_CHANGE op=remove_rule res=1 whose key is one of the detector's watch keys (decided in code)"

[[rule.threat]]
framework = "MITRE ATT&CK"

[[rule.threat.technique]]
id = "T1562"
name = "Impair Defenses"
reference = "https://attack.mitre.org/techniques/T1562/"

[[rule.threat.technique.subtechnique]]
id = "T1562.012"
name = "Disable or Modify Linux Audit System"
reference = "https://attack.mitre.org/techniques/T1562/012/"

[rule.threat.tactic]
id = "TA0005"
name = "Defense Evasion"
reference = "https://attack.mitre.org/tactics/TA0005/"
"""#
}
