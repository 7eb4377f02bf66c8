import HostFiles
import Outputs
import PlaceBaseline

/// One line of `audisp-lkm check`: a fact about this host's setup, whether it holds, and
/// how to fix it when it does not.
public struct CheckResult: Sendable {
    public enum Status: String, Sendable {
        case pass = "PASS", warn = "WARN", fail = "FAIL"
    }

    public var status: Status
    /// What is checked (`auditd`, `watch /etc/modprobe.d`, `plugin conf` ...).
    public var subject: String
    public var detail: String
    public var fix: String?

    public init(_ status: Status, _ subject: String, _ detail: String, fix: String? = nil) {
        (self.status, self.subject, self.detail, self.fix) = (status, subject, detail, fix)
    }
}

/// What `report --host-state` adds to the period's evidence: the checks and the
/// inventory, taken on the live host when the report is made.
public struct HostState: Sendable {
    public var checks: [CheckResult]
    public var inventory: Inventory
    /// The places against the plugin's stored baseline: what changed that no record has
    /// explained yet; nil when there is no baseline to compare with.
    public var baseline: BaselineEvidence?

    public init(checks: [CheckResult], inventory: Inventory, baseline: BaselineEvidence? = nil) {
        (self.checks, self.inventory, self.baseline) = (checks, inventory, baseline)
    }
}

/// The places now against the plugin's stored baseline (`BaselineStore.pendingChanges`).
public struct BaselineEvidence: Sendable {
    /// When the baseline was last known true (seconds since the epoch).
    public var recorded: Int
    public var changes: [UnwatchedChange]

    public init(recorded: Int, changes: [UnwatchedChange]) {
        (self.recorded, self.changes) = (recorded, changes)
    }

    /// A table: one row per difference.
    var table: Table {
        Table(title: "The places against the plugin's baseline: \(changes.count) differences no record explains yet",
              columns: ["action", "path", "from", "SHA-256 before", "SHA-256 after"],
              rows: changes.map { found in
                  [found.change.action.rawValue, DisplayText.of(found.change.path), found.change.originalPath.map(DisplayText.of) ?? "",
                   found.change.before?.digestText ?? "-", found.change.after?.digestText ?? "-"]
              },
              note: "the baseline was last known true at \(isoTime(Double(recorded))); the plugin raises these at its next scan")
    }
}

/// The tables and JSON documents of `check` and `inventory`, shared by their own
/// commands and the report's evidence bundle.
public enum HostStateEvidence {
    public static func checkTable(_ results: [CheckResult]) -> Table {
        let failed = results.filter { $0.status == .fail }.count
        let warned = results.filter { $0.status == .warn }.count
        return Table(title: "Is the control in place? (audisp-lkm check)", columns: ["status", "check", "detail", "fix"],
                     rows: results.map { [$0.status.rawValue, $0.subject, $0.detail, $0.fix ?? ""] },
                     note: "\(results.count) checks: \(failed) failed, \(warned) warnings")
    }

    /// One line per check (`PASS  subject: detail`), the fix indented under a failure.
    public static func checkText(_ results: [CheckResult]) -> String {
        results.map { result in
            var line = DisplayText.printable("\(result.status.rawValue)  \(result.subject): \(result.detail)") + "\n"
            if let fix = result.fix, result.status != .pass { line += DisplayText.printable("      fix: \(fix)") + "\n" }
            return line
        }.joined()
    }

    public static func checkJSON(_ results: [CheckResult], time: Double, host: String) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("@timestamp", isoTime(time))
        writer.beginObject("event"); writer.member("kind", "state"); writer.member("action", "check"); writer.endObject()
        writer.beginObject("host"); writer.member("name", host); writer.endObject()
        writer.beginObject("audisp_lkm")
        writer.member("passed", bool: !results.contains { $0.status == .fail })
        writer.key("checks"); writer.beginArray()
        for result in results {
            writer.beginObject()
            writer.member("status", result.status.rawValue)
            writer.member("check", result.subject)
            writer.member("detail", result.detail)
            writer.member("fix", result.fix)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        writer.endObject()
        return writer.bytes
    }

    // MARK: Inventory

    public static func filesTable(_ inventory: Inventory) -> Table {
        Table(title: "Files in the places the rule covers and kmod and systemd read (\(inventory.places.joined(separator: ", ")))",
              columns: ["path", "type", "owner", "mode", "size", "modified", "changed", "package", "package state", "read by kmod/systemd"],
              rows: inventory.entries.map { entry in
                  [entry.path + (entry.linkTarget.map { " -> \($0)" } ?? ""), entry.kind, "\(entry.owner):\(entry.group)",
                   String(entry.mode, radix: 8).leftPadded(to: 4), String(entry.size), isoTime(entry.modified), isoTime(entry.changed),
                   entry.package.package ?? "-", packageDetail(entry.package),
                   entry.readProblem.map { "yes, but not here: " + $0 } ?? entry.isRead.map { $0 ? "yes" : "no: " + (entry.unreadReason ?? "") } ?? "-"]
              },
              note: "root \(inventory.root), \(inventory.packageDatabase) database; package states: matches, modified (differs from "
                + "what the package installed), owned (no checksum), unowned (no package owns it)")
    }

    static func packageDetail(_ state: PackageDatabase.State) -> String {
        switch state {
        case .modified(_, let detail): "modified (\(detail))"
        case .owned(_, let note): "owned (\(note))"
        default: state.name
        }
    }

    public static func directivesTable(_ inventory: Inventory) -> Table {
        let kmod: String = switch inventory.kmod {
        case .agrees(let count): "kmod (modprobe --showconfig) reads the same \(count) install, remove, blacklist and options directives"
        case .differs(let differences): "kmod DIFFERS: " + differences.joined(separator: "; ")
        case .unavailable(let reason): "not compared with kmod: \(reason)"
        }
        return Table(title: "Directives in effect (modprobe.d(5) and modules-load.d(5) precedence)",
                     columns: ["directive", "module", "arguments", "file", "line", "in effect"],
                     rows: inventory.configuration.directives.map {
                         [$0.command, $0.module, $0.arguments, $0.file, String($0.line), $0.effective ? "yes" : "no (an earlier one wins)"]
                     },
                     note: kmod)
    }

    public static func controlsTable(_ inventory: Inventory) -> Table? {
        guard let profile = inventory.profile else { return nil }
        let failed = inventory.verdicts.filter { !$0.passed }.count
        return Table(title: "Profile \(profile.name): \(profile.title) \(profile.version)",
                     columns: ["control", "module", "verdict", "title", "findings", "fix"],
                     rows: inventory.verdicts.map {
                         [$0.control.id, $0.control.module, $0.passed ? "pass" : "fail", $0.control.title,
                          $0.findings.joined(separator: "; "), $0.fix ?? ""]
                     },
                     note: "\(inventory.verdicts.count) controls: \(failed) fail. " + (profile.reference.map { "Source: \($0)" } ?? ""))
    }

    public static func inventoryTables(_ inventory: Inventory) -> [Table] {
        [filesTable(inventory), directivesTable(inventory)] + [controlsTable(inventory)].compactMap { $0 }
    }

    /// One ECS document per file (`event.action: inventory`), per control verdict
    /// (`verdict` beside the module and control id), then one for the kmod comparison.
    public static func inventoryJSON(_ inventory: Inventory) -> [[UInt8]] {
        var documents: [[UInt8]] = []
        func document(_ action: String, _ body: (inout JSONWriter) -> Void) {
            var writer = JSONWriter()
            writer.beginObject()
            writer.member("@timestamp", isoTime(inventory.taken))
            writer.beginObject("event"); writer.member("kind", "state"); writer.member("action", action); writer.endObject()
            writer.beginObject("host"); writer.member("name", inventory.hostName); writer.endObject()
            body(&writer)
            writer.endObject()
            documents.append(writer.bytes)
        }
        for entry in inventory.entries {
            document("inventory") { writer in
                writer.beginObject("file")
                writer.member("path", entry.path)
                writer.member("type", entry.kind == "link" ? "symlink" : entry.kind == "directory" ? "dir" : entry.kind)
                writer.member("target_path", entry.linkTarget)
                writer.member("owner", entry.owner)
                writer.member("group", entry.group)
                writer.member("uid", String(entry.uid))
                writer.member("gid", String(entry.gid))
                writer.member("mode", String(entry.mode, radix: 8).leftPadded(to: 4))
                writer.member("size", number: entry.size)
                writer.member("mtime", isoTime(entry.modified))
                writer.member("ctime", isoTime(entry.changed))
                writer.endObject()
                writer.beginObject("package"); writer.member("name", entry.package.package); writer.endObject()
                writer.beginObject("audisp_lkm")
                writer.member("package_state", entry.package.name)
                if case .modified(_, let detail) = entry.package { writer.member("package_difference", detail) }
                if let read = entry.isRead { writer.member("read", bool: read) }
                writer.member("unread_reason", entry.unreadReason)
                writer.member("read_problem", entry.readProblem)
                writer.endObject()
            }
        }
        for verdict in inventory.verdicts {
            document("control") { writer in
                writer.member("verdict", verdict.passed ? "pass" : "fail")
                writer.member("module", verdict.control.module)
                writer.member("control_id", verdict.control.id)
                writer.member("title", verdict.control.title)
                writer.member("profile", inventory.profile?.name)
                writer.key("findings"); writer.beginArray()
                for finding in verdict.findings { writer.string(finding) }
                writer.endArray()
                writer.member("fix", verdict.fix)
            }
        }
        document("directives") { writer in
            writer.key("directives"); writer.beginArray()
            for directive in inventory.configuration.directives {
                writer.beginObject()
                writer.member("directive", directive.command)
                writer.member("module", directive.module)
                writer.member("arguments", directive.arguments)
                writer.member("file", directive.file)
                writer.member("line", number: directive.line)
                writer.member("effective", bool: directive.effective)
                writer.endObject()
            }
            writer.endArray()
            switch inventory.kmod {
            case .agrees: writer.member("kmod", "agrees")
            case .differs(let differences):
                writer.member("kmod", "differs")
                writer.key("kmod_differences"); writer.beginArray()
                for difference in differences { writer.string(difference) }
                writer.endArray()
            case .unavailable(let reason): writer.member("kmod", "not compared: \(reason)")
            }
        }
        return documents
    }
}
