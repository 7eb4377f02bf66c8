import CCapNG

/// The process's Linux capabilities.
public enum Capabilities {
    /// Drops every capability, effective, permitted and bounding, as audisp-syslog does
    /// once it has started: the plugin runs as root only to be started by auditd, and
    /// needs no privilege to read stdin, write syslog and its own root-owned files. With
    /// `keepingAuditControl` it keeps CAP_AUDIT_CONTROL alone, to add removed watches
    /// again. Returns a reason on failure.
    public static func dropAll(keepingAuditControl: Bool = false) -> String? {
        // Keep only what the process has: asking capset for more fails, and would leave
        // every other capability in place.
        capng_get_caps_process()
        let keep = keepingAuditControl && capng_have_capability(CAPNG_PERMITTED, UInt32(CAP_AUDIT_CONTROL)) == 1
        capng_clear(CAPNG_SELECT_BOTH)
        if keep,
           capng_update(CAPNG_ADD, capng_type_t(rawValue: CAPNG_EFFECTIVE.rawValue | CAPNG_PERMITTED.rawValue | CAPNG_BOUNDING_SET.rawValue),
                        UInt32(CAP_AUDIT_CONTROL)) != 0 {
            return "capng_update failed"
        }
        return capng_apply(CAPNG_SELECT_BOTH) == 0 ? nil : "capng_apply failed"
    }

    /// Whether the process holds CAP_AUDIT_CONTROL (needed to list the kernel's rules).
    public static var canReadAuditRules: Bool {
        capng_get_caps_process()
        return capng_have_capability(CAPNG_EFFECTIVE, UInt32(CAP_AUDIT_CONTROL)) == 1
    }
}
