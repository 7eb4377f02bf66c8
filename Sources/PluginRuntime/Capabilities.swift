import CCapNG

/// The process's Linux capabilities.
public enum Capabilities {
    /// Drops every capability, effective, permitted and bounding, as audisp-syslog does
    /// once it has started: the plugin runs as root only to be started by auditd, and
    /// needs no privilege to read stdin, write syslog and its own root-owned files.
    /// Returns a reason on failure.
    public static func dropAll() -> String? {
        capng_clear(CAPNG_SELECT_BOTH)
        return capng_apply(CAPNG_SELECT_BOTH) == 0 ? nil : "capng_apply failed"
    }

    /// Whether the process holds CAP_AUDIT_CONTROL (needed to list the kernel's rules).
    public static var canReadAuditRules: Bool {
        capng_get_caps_process()
        return capng_have_capability(CAPNG_EFFECTIVE, UInt32(CAP_AUDIT_CONTROL)) == 1
    }
}
