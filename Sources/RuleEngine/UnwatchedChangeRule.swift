/// audisp-lkm's own rule: a file in a place changed while the detector could not see
/// (its watches removed, auditing off, auditd or the plugin down, records lost, a file
/// system mounted over the place), found by comparing the places with their baseline
/// when it can see again. No record names the process: the alert says so. Every
/// difference the event stream did not explain is an alert of this rule.
public enum UnwatchedChangeRule {
    /// MITRE: the default rule's Persistence entry (T1547.006) and the watch-removal
    /// rule's Defense Evasion entry (T1562.012), taken from them.
    public static let metadata: DetectionRule = {
        var rule = DetectionRule.embedded(toml)
        rule.threats = DefaultRule.persistenceThreats
            + WatchRemovalRule.metadata.threats
        return rule
    }()

    static let toml = #"""
[rule]
author = ["audisp-lkm"]
description = """
A file that modprobe or systemd-modules-load reads (/etc/modprobe.d, /etc/modules-load.d, /etc/modules and their \
twins) was created, changed, renamed, deleted or given other attributes while audisp-lkm could not see: no audit \
record explains it. The places were compared with their baseline when the detector could see again. \
audisp_lkm.blind_window says since when and why it could not see; the process is unknown.
"""
license = "Apache License 2.0"
name = "Kernel Module Configuration Changed While Unwatched"
risk_score = 73
rule_id = "9e4c2b71-5d08-4a3f-b6e2-1c7f0a9d4e55"
severity = "high"
tags = ["Domain: Endpoint", "OS: Linux", "Use Case: Threat Detection", "Tactic: Persistence", "Tactic: Defense Evasion", "Data Source: Auditd"]
type = "eql"
query = "a difference between the places and their baseline that no audit record explains (decided in code)"
"""#
}
