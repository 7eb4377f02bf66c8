import FileEvents
import HostFiles
import RuleEngine

/// One change the period report lists: a file event under a place the rule covers, or a
/// change to the audit rules that is itself an alert (a watch removed, auditing off).
public struct ReportedChange: Sendable {
    public enum Subject: Sendable {
        case file(FileEvent)
        case rules(AuditRuleChange)
    }

    /// `audisp_lkm.decision`.
    public enum Decision: Sendable, Equatable {
        /// A rule alerts (`undecided`: on what the records say, it might not).
        case alert(rule: String, undecided: Bool)
        /// The rule's exclusions removed it: the clause that did; `borrowed`, when the
        /// program did not earn it, why (`BorrowedExclusionRule` alerts on it).
        case excluded(clause: String, borrowed: String?)
        /// Not a case of any rule (a modification, a deletion, an attribute change).
        case none

        /// `alert`, `excluded` or `none`.
        public var name: String {
            switch self {
            case .alert: "alert"
            case .excluded: "excluded"
            case .none: "none"
            }
        }
    }

    public var subject: Subject
    public var decision: Decision
    /// The place the change is in (a directory the rule covers, or `/etc/modules`).
    public var place: String

    public init(subject: Subject, decision: Decision, place: String) {
        (self.subject, self.decision, self.place) = (subject, decision, place)
    }

    public var time: Double {
        switch subject {
        case .file(let event): ReportPeriod.time(seconds: event.seconds, milliseconds: event.milliseconds)
        case .rules(let change): ReportPeriod.time(seconds: change.seconds, milliseconds: change.milliseconds)
        }
    }

    public var host: String? {
        switch subject {
        case .file(let event): event.node
        case .rules(let change): change.node
        }
    }

    /// `SEC.MSEC:SERIAL`, what `ausearch -a` takes.
    public var eventID: String {
        switch subject {
        case .file(let event): event.eventID
        case .rules(let change): change.eventID
        }
    }

    /// `event.action`: creation, rename, modification, deletion, attributes,
    /// directory-replacement, audit-watch-removed, auditing-disabled.
    public var action: String {
        switch subject {
        case .file(let event): event.action.rawValue
        case .rules(let change): WatchRemovalRule.action(for: change)
        }
    }

    /// The login user: `name (auid)`, or the number alone.
    public var loginUser: String {
        switch subject {
        case .file(let event): Self.user(event.user.auditName, event.user.auditID)
        case .rules(let change): Self.user(change.auditName, change.auditID)
        }
    }

    /// The process the totals count it under: the executable (`(unknown)` without one),
    /// or `(audit rules)` for a rules change.
    public var process: String {
        switch subject {
        case .file(let event): event.process.executable.map(DisplayText.of) ?? "(unknown)"
        case .rules: "(audit rules)"
        }
    }

    static func user(_ name: String?, _ id: UInt64?) -> String {
        guard let id else { return "-" }
        // 4294967295 is (uid_t)-1: no login user (daemons, boot).
        if id == 4_294_967_295 { return "unset" }
        return name.map { "\($0) (\(id))" } ?? String(id)
    }
}

extension AuditRuleChange {
    /// `SEC.MSEC:SERIAL`.
    public var eventID: String {
        var text: [UInt8] = []
        appendEventID(to: &text)
        return String(decoding: text, as: UTF8.self)
    }
}
