import AuditReading
import HostFiles

/// A change to the kernel's audit rules, from a CONFIG_CHANGE record.
///
/// The kernel logs one record per rule added or removed (`auditctl -D` removes each rule
/// in turn): `auid=0 ses=3 subj=... op=remove_rule key="audisp-lkm" list=4 res=1`, `list`
/// being the filter list (4 system call exit, 7 io_uring exit). A watched path that is
/// deleted or moved away logs `op=remove_rule` or `op=updated_rules` with `path=`.
public struct AuditRuleChange: Sendable {
    /// `op=`: `add_rule`, `remove_rule`, `updated_rules`, ... (other settings changes
    /// have none).
    public var operation: String?
    /// The rule's keys (`-k`; several are logged joined by 0x01).
    public var keys: [[UInt8]] = []
    /// `list=`: the filter list of the rule.
    public var list: Int?
    /// `path=`: the watched path, for changes the kernel made because of the file system.
    public var path: RawPath?
    /// `audit_enabled=`: auditing switched off (0), on (1) or locked (2) (`auditctl -e`).
    public var auditEnabled: UInt64?
    /// `res=1`: the change was made.
    public var succeeded = false
    /// Who made it: the login user and session.
    public var auditID: UInt64?
    public var auditName: String?
    public var session: UInt64?
    /// The process that made it, from the same event's SYSCALL and PROCTITLE records
    /// (auditctl's `sendto`); nil when the event has none (a change the kernel made).
    public var pid: Int?
    public var executable: RawPath?
    /// The command line, arguments joined by spaces.
    public var commandLine: [UInt8]?
    /// `@timestamp`, identity, `host.name`.
    public var seconds: Int
    public var milliseconds: Int
    public var serial: UInt64
    public var node: String?

    /// The event's change records: one event can hold several (the kernel removes every
    /// watch below a directory that is moved or unmounted in one system call).
    public static func all(in event: AuditEvent) -> [AuditRuleChange] {
        guard event.contains(.configChange) else { return [] }
        var found: [AuditRuleChange] = []
        var process: (pid: Int?, executable: RawPath?, commandLine: [UInt8]?) = (nil, nil, nil)
        let stamp = event.timestamp
        event.forEachRecord { record in
            switch record.type {
            case .configChange:
                var change = AuditRuleChange(seconds: stamp.seconds, milliseconds: stamp.milliseconds,
                                             serial: stamp.serial, node: stamp.node)
                record.forEachTextField { name, value in
                    if name.equals("op") { change.operation = value.string }
                    else if name.equals("key") {
                        change.keys = (AuditValue.decode(value) ?? []).split(separator: 0x01).map(Array.init)
                    }
                    else if name.equals("list") { change.list = AuditValue.decimal(value).map { Int($0) } }
                    else if name.equals("path") { change.path = AuditValue.decode(value).map(RawPath.init(bytes:)) }
                    else if name.equals("res") { change.succeeded = value.equals("1") }
                    else if name.equals("auid") { change.auditID = AuditValue.decimal(value) }
                    else if name.equals("ses") { change.session = AuditValue.decimal(value) }
                    else if name.equals("audit_enabled") { change.auditEnabled = AuditValue.decimal(value) }
                }
                if let enrichment = record.enrichment { change.auditName = EnrichedNames(enrichment).auid }
                found.append(change)
            case .syscall where !found.isEmpty:
                record.forEachTextField { name, value in
                    if name.equals("pid") { process.pid = AuditValue.decimal(value).map { Int($0) } }
                    else if name.equals("exe") { process.executable = AuditValue.decode(value).map(RawPath.init(bytes:)) }
                }
            case .proctitle where !found.isEmpty:
                record.forEachTextField { name, value in
                    guard name.equals("proctitle"), let arguments = AuditValue.arguments(ofProctitle: value) else { return }
                    process.commandLine = Array(arguments.joined(separator: [0x20]))
                }
            default:
                break
            }
            return true
        }
        for index in found.indices {
            (found[index].pid, found[index].executable, found[index].commandLine) = process
        }
        return found
    }

    private init(seconds: Int, milliseconds: Int, serial: UInt64, node: String?) {
        self.seconds = seconds
        self.milliseconds = milliseconds
        self.serial = serial
        self.node = node
    }

    /// The filter list's name: `exit` (4, system calls) or `io_uring` (7).
    public var listName: String? {
        switch list {
        case 4: "exit"
        case 7: "io_uring"
        case let other?: "list \(other)"
        case nil: nil
        }
    }

    /// Whether the change removed a rule (rather than adding or updating one).
    public var removesRule: Bool { succeeded && operation == "remove_rule" }

    /// Whether the change switched auditing off (`auditctl -e 0`): every watch is blind.
    public var disablesAuditing: Bool { succeeded && auditEnabled == 0 }

    /// `SECONDS.MILLI:SERIAL`, as for file events.
    public func appendEventID(to output: inout [UInt8]) {
        FileEvent.appendEventID(seconds: seconds, milliseconds: milliseconds, serial: serial, to: &output)
    }
}
