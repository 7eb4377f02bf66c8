import FileEvents
import HostFiles

/// audisp-lkm's companion rule: a creation the rule excluded only through a clause the
/// program could satisfy without being the program the clause means (MITRE T1036,
/// Masquerading). The rule's verdict stays Elastic's; this is a second look at what it
/// excluded.
///
/// Each exclusion clause that matched the event is earned or not:
/// - a test of the file alone (`file.extension`, `file.name`,
///   `file.Ext.original.extension`) is earned;
/// - `process.executable` matching a value or pattern under a tree only root can write
///   (`/usr/bin/dpkg`, `/nix/store/*`, `/snap/*`) is earned (a root intruder who replaces
///   `/usr/bin/dpkg` is the inventory's business); one under a directory anyone can write
///   (`/tmp/vmis.*`) or naming a descriptor (`/dev/fd/*`, `/proc/self/exe`: a script read
///   from a pipe, a program run from a descriptor) never is: no file vouches for it;
/// - `process.name` is earned only when the executable is that program as installed
///   (`ProgramStanding`): owned by a package, or offline in a system directory;
/// - a group (`process.name == "sed" and file.name : "sed*"`) is earned when all its
///   program tests are.
/// One earned clause is enough: the event stays excluded. Otherwise it alerts, naming the
/// clauses it borrowed and why none was earned.
public enum BorrowedExclusionRule {
    public static let metadata: DetectionRule = {
        var rule = DetectionRule.embedded(toml)
        rule.threats = DefaultRule.threats + rule.threats
        return rule
    }()

    /// What one exclusion clause that matched tells.
    public struct Clause: Sendable, Equatable {
        /// The clause as written (the part that matched).
        public var text: String
        /// nil when earned; otherwise why not.
        public var borrowedBecause: String?
    }

    /// The excluding clauses of `event` under `exclusion` (one of the rule's `not (...)`),
    /// each judged; `standing` says what the host knows of an executable.
    public static func clauses(of event: FileEvent, exclusion: Condition,
                               standing: (_ executable: RawPath) -> ProgramStanding) -> [Clause] {
        let parts: [Condition]
        if case .any(let disjuncts) = exclusion { parts = disjuncts } else { parts = [exclusion] }
        return parts.filter { $0.matches(event) }.map { part in
            let reasons = part.programTests.compactMap { test in borrowedBecause(test, event: event, standing: standing) }
            return Clause(text: part.reasons(event).joined(separator: " and "),
                          borrowedBecause: reasons.isEmpty ? nil : reasons.joined(separator: "; "))
        }
    }

    /// Whether the event is this rule's alert: it was excluded, and no clause that
    /// excluded it is earned.
    public static func isBorrowed(_ clauses: [Clause]) -> Bool {
        !clauses.isEmpty && clauses.allSatisfy { $0.borrowedBecause != nil }
    }

    /// Directories anyone may write (with the sticky bit or not), where a program's
    /// name or path proves nothing.
    static let writableByAnyone: [String] = ["/tmp/", "/var/tmp/", "/dev/shm/", "/run/user/", "/home/", "/run/lock/"]

    private static func borrowedBecause(_ test: Condition, event: FileEvent,
                                        standing: (_ executable: RawPath) -> ProgramStanding) -> String? {
        let executable = event.process.executable ?? RawPath(bytes: [])
        let kernelImage = event.audit.exe.map(\.lossyText) ?? "?"
        switch test {
        case .equals(.processExecutable, _, _), .like(.processExecutable, _, _):
            guard let matched = test.matchedText(event) else { return nil }
            if matched.hasPrefix("/dev/fd/") || matched.hasPrefix("/proc/") {
                return "\(matched) names a descriptor: no file vouches for the program (the kernel ran \(kernelImage))"
            }
            if let place = writableByAnyone.first(where: { matched.hasPrefix($0) }) {
                return "\(matched) is under \(place), which anyone can write"
            }
            return nil
        case .equals(.processName, _, _), .like(.processName, _, _):
            switch standing(executable) {
            case .installed, .systemLocation: return nil
            case .notInstalled(let why):
                return "process.name \"\(String(decoding: event.process.name ?? [], as: UTF8.self))\" is borrowed: \(why)"
            }
        default:
            return nil
        }
    }

    static let toml = #"""
[rule]
author = ["audisp-lkm"]
description = """
A kernel-module configuration file was created or renamed into place by a program that "Loadable Kernel Module \
Configuration File Creation" excluded only through a clause it could satisfy without being the program the clause \
means: a process name taken by a copy outside the installed program (cp /bin/bash /tmp/perl), an executable path \
under a directory anyone can write (/tmp/vmis.*), or a descriptor (/dev/fd/*: a script read from a pipe, or \
fexecve). audisp_lkm.borrowed names the clauses and why none was earned; auditd.exe is the image the kernel ran.
"""
license = "Apache License 2.0"
name = "Kernel Module Configuration File Creation by a Program Borrowing an Exclusion"
risk_score = 47
rule_id = "b7e31c5a-94d2-4f60-8a1e-6c2f0d9b3e84"
severity = "medium"
tags = ["Domain: Endpoint", "OS: Linux", "Use Case: Threat Detection", "Tactic: Persistence", "Tactic: Defense Evasion", "Data Source: Auditd"]
type = "eql"
query = "an event the rule excluded whose every excluding clause on process.name or process.executable is unearned (decided in code)"

[[rule.threat]]
framework = "MITRE ATT&CK"

[[rule.threat.technique]]
id = "T1036"
name = "Masquerading"
reference = "https://attack.mitre.org/techniques/T1036/"

[rule.threat.tactic]
id = "TA0005"
name = "Defense Evasion"
reference = "https://attack.mitre.org/tactics/TA0005/"
"""#
}

/// What the host (or, offline, the path alone) says of an executable named by a
/// `process.name` clause.
public enum ProgramStanding: Sendable, Equatable {
    /// An installed package owns it, in a directory only root can write.
    case installed(package: String)
    /// Offline, with no package database: in a system binary directory only root can write.
    case systemLocation
    /// Not the program as installed, and why.
    case notInstalled(String)

    /// Offline: judged by the location alone. A system binary or library directory is
    /// the program's place; anywhere else (`/tmp`, a home, `/opt/x`, a descriptor) is not.
    public static func byLocation(_ executable: RawPath) -> ProgramStanding {
        let path = executable.lossyText
        guard !executable.isEmpty else { return .notInstalled("no executable is known") }
        if let place = BorrowedExclusionRule.writableByAnyone.first(where: { path.hasPrefix($0) }) {
            return .notInstalled("\(path) is under \(place), which anyone can write")
        }
        if path.hasPrefix("/dev/fd/") || path.hasPrefix("/proc/") { return .notInstalled("\(path) is a descriptor, not an installed file") }
        let systemDirectories = ["/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/", "/usr/lib/", "/usr/libexec/", "/lib/", "/usr/lib64/", "/lib64/"]
        guard systemDirectories.contains(where: { path.hasPrefix($0) }) else {
            return .notInstalled("\(path) is not in a system binary directory (no package database was asked)")
        }
        return .systemLocation
    }
}

extension Condition {
    /// The leaf tests of `process.executable` and `process.name` in this condition.
    var programTests: [Condition] {
        switch self {
        case .all(let parts), .any(let parts): parts.flatMap(\.programTests)
        case .not(let inner): inner.programTests
        case .equals(.processExecutable, _, _), .like(.processExecutable, _, _),
             .equals(.processName, _, _), .like(.processName, _, _): [self]
        case .present, .equals, .like: []
        }
    }

    /// The value or pattern of this leaf test that matched `event`, as written.
    func matchedText(_ event: FileEvent) -> String? {
        switch self {
        case .equals(let field, let values, _):
            guard let value = field.value(in: event), values.contains(value) else { return nil }
            return String(decoding: value, as: UTF8.self)
        case .like(let field, let patterns, _):
            guard let value = field.value(in: event) else { return nil }
            return patterns.first { $0.matches(value) }?.text
        default:
            return nil
        }
    }
}
