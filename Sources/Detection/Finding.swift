import FileEvents
import RuleEngine

/// What the detector found in the audit events: everything the plugin, `replay` and
/// `report` print, count or act on.
public enum Finding {
    /// A file event and the rule's verdict on it. `withheld`: an alert the alert cap held
    /// back (it is counted in a later `capSummary`).
    case file(FileEvent, RuleEngine.Verdict, withheld: Bool)
    /// An existing file in a place modified in place, with the verdict of
    /// `ModificationRule` (the rule's own places and exclusions). `withheld` as for `file`.
    case modification(FileEvent, RuleEngine.Verdict, withheld: Bool)
    /// A file event the rule excluded through clauses it did not earn
    /// (`BorrowedExclusionRule`, an alert; the `file` finding before it keeps the rule's
    /// own verdict). `withheld` as for `file`.
    case borrowedExclusion(FileEvent, [BorrowedExclusionRule.Clause], withheld: Bool)
    /// A place the rule covers replaced wholesale (`DirectoryReplacementRule`, an alert).
    case directoryReplacement(FileEvent)
    /// A change to the kernel's audit rules; `removesWatch` when it removed one of the
    /// detector's watches or switched auditing off (not yet an alert: see `watchRemoval`).
    case ruleChange(AuditRuleChange, removesWatch: Bool)
    /// One sender's burst of such removals, complete (`WatchRemovalRule`, one alert).
    case watchRemoval(WatchRemovalBurst)
    /// The alert cap's account of alerts it withheld.
    case capSummary(AlertCap.Summary)
    /// Something the reader of the alerts must know that is no alert (the cap's ceiling
    /// reached, a replaced place holding more files than were examined).
    case notice(String)
}
