import FileEvents

/// audisp-lkm's own companion rule: an existing file in a place whose content a process
/// changed (opened for writing, appended, truncated). Elastic's rule looks only at
/// creations and renames, so `echo "install usb-storage /tmp/p" >> /etc/modules-load.d/x.conf`
/// raises nothing there. The places and exclusions are the rule's own: a modification
/// alerts when the same event, were it a creation, would (package managers and editor
/// swap files stay excluded).
public enum ModificationRule {
    public static let metadata: DetectionRule = {
        var rule = DetectionRule.embedded(toml)
        rule.threats = DefaultRule.threats
        return rule
    }()

    /// The event as the rule's own creation, which the rule then judges: its places, its
    /// exclusions.
    public static func asCreation(_ event: FileEvent) -> FileEvent {
        var creation = event
        creation.action = .creation
        return creation
    }

    static let toml = #"""
[rule]
author = ["audisp-lkm"]
description = """
An existing file that modprobe or systemd-modules-load reads was modified in place: opened for writing, appended to \
or truncated. The places and exclusions are those of "Loadable Kernel Module Configuration File Creation", which \
sees only creations and renames. Live, audisp_lkm.content gives the SHA-256 of the content before and after.
"""
license = "Apache License 2.0"
name = "Kernel Module Configuration File Modified"
risk_score = 21
rule_id = "3a8f6d20-7c41-4b9e-8e15-b2d64f0c9a37"
severity = "low"
tags = ["Domain: Endpoint", "OS: Linux", "Use Case: Threat Detection", "Tactic: Persistence", "Data Source: Auditd"]
type = "eql"
query = "a modification of an existing file that the rule, were it a creation, would alert on (decided in code)"
"""#
}
