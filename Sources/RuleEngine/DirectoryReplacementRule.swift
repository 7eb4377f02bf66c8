/// audisp-lkm's own rule: a place the rule covers was replaced wholesale (a directory
/// renamed over or into it, a symbolic link made in its name), which brings a whole set of
/// module configuration files without creating one there. Elastic's rule misses it. The
/// normaliser finds these events (`FileEvent.Action.directoryReplacement`); every one is an
/// alert of this rule.
public enum DirectoryReplacementRule {
    public static let metadata = DetectionRule.embedded(toml)

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

[[rule.threat]]
framework = "MITRE ATT&CK"

[[rule.threat.technique]]
id = "T1547"
name = "Boot or Logon Autostart Execution"
reference = "https://attack.mitre.org/techniques/T1547/"

[[rule.threat.technique.subtechnique]]
id = "T1547.006"
name = "Kernel Modules and Extensions"
reference = "https://attack.mitre.org/techniques/T1547/006/"

[rule.threat.tactic]
id = "TA0003"
name = "Persistence"
reference = "https://attack.mitre.org/tactics/TA0003/"
"""#
}
