/// audisp-lkm's own rule: a place the rule covers was replaced wholesale (a directory
/// renamed over or into it, a symbolic link made in its name), which brings a whole set of
/// module configuration files without creating one there. Elastic's rule misses it. The
/// normaliser finds these events (`FileEvent.Action.directoryReplacement`); every one is an
/// alert of this rule.
public enum DirectoryReplacementRule {
    /// Its MITRE entry (Persistence, T1547.006) is the default rule's first: taken from it,
    /// not written a second time (the default rule's other, T1014 rootkits, is not this).
    /// Its metadata only: compiling its query here would be wasted.
    public static let metadata: DetectionRule = {
        var rule = DetectionRule.embedded(toml)
        rule.threats = DefaultRule.persistenceThreats
        return rule
    }()

    static let toml = #"""
[rule]
author = ["audisp-lkm"]
description = """
A directory that modprobe or systemd-modules-load reads (/etc/modprobe.d, /etc/modules-load.d and their twins) was \
replaced wholesale: another directory renamed to its name, or a symbolic link made in its name. Every file in the \
replacement is now read at each module load, though none was created there. file.path is the place; \
file.Ext.original.path what replaced it.
"""
license = "Apache License 2.0"
name = "Kernel Module Configuration Directory Replaced"
risk_score = 47
rule_id = "c1d7e2a4-3b8f-4e61-9a0d-7f2b5c6e8d13"
severity = "medium"
tags = ["Domain: Endpoint", "OS: Linux", "Use Case: Threat Detection", "Tactic: Persistence", "Data Source: Auditd"]
type = "eql"
query = "a rename whose new name, or a symbolic link whose name, is a place the rule covers (decided in code)"
"""#
}
