import ArgumentParser
import AuditControl
import Settings
import RuleEngine

/// `audisp-lkm watches add|remove`: the watches auditctl cannot write.
struct Watches: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add or remove the detector's io_uring and directory-tree watches (with --all-lists, all of its watches).",
        discussion: """
            io_uring operations (IORING_OP_OPENAT, RENAMEAT, LINKAT, SYMLINKAT ...) make \
            names without a system call of their own, so the watches in \
            audit-rules/50-audisp-lkm.rules never see them. The kernel (5.16+) has a \
            separate io_uring filter list for that; auditctl 3.1 and later write it as \
            `-a always,io_uring -F path=DIR -k audisp-lkm`, auditctl 3.0.9 (Debian 12) \
            cannot. This command loads those watches through libaudit, one per place the \
            rule covers, with the configured key. The plugin does the same at start (see \
            manage_watches in audisp-lkm.conf(5)); install.sh calls `watches add`.

            It also loads a `-F dir=DIR -F perm=wa` watch on each place that exists, on \
            both system-call tables: the rules file's `path=` watches see entries made, \
            removed and renamed, but not an existing file written, truncated, or given a \
            new mode or owner, which `report` lists as modifications and attribute \
            changes. A rules file cannot hold these: the kernel refuses a `dir=` watch on \
            a missing directory, and `auditctl -R` stops at the first refusal.

            --all-lists also adds or removes the system-call watches exactly as the rules \
            file writes them (both tables), for when augenrules is not used.

            Adding a watch that exists, or removing one that does not, changes nothing. \
            Needs root (CAP_AUDIT_CONTROL). Exit status 1 when a watch could not be changed.

            Examples:
              audisp-lkm watches add
              audisp-lkm watches remove --all-lists
            """
    )

    enum Action: String, ExpressibleByArgument, CaseIterable {
        case add, remove
    }

    @Argument(help: "add or remove.")
    var action: Action

    @Flag(name: .customLong("all-lists"), help: "Also the system-call watches (64- and 32-bit tables).")
    var allLists = false

    @Option(help: ArgumentHelp("The configuration file (its rule, watch_key and usr_merge).", valueName: "file"))
    var config: String = PluginConfiguration.defaultPath

    @Option(help: ArgumentHelp("The key of the watches (default: the configuration's watch_key).", valueName: "key"))
    var key: String?

    func run() throws {
        let (configuration, rule) = try PluginConfiguration.selected(config)
        let lists: [WatchLoader.List] = allLists ? WatchLoader.List.all : [.ioUring]
        let paths = rule.locations.map(\.path)
        let watchKey = key ?? configuration.watchKey
        var summary = WatchLoader.apply(adding: action == .add, paths: paths, key: watchKey, lists: lists)
        if !allLists {
            summary.add(WatchLoader.applyTrees(adding: action == .add, paths: paths, key: watchKey))
        }
        print("\(action == .add ? "added" : "removed") \(summary.changed), unchanged \(summary.unchanged) "
              + "(\(lists.map(\.description).joined(separator: ", "))\(allLists ? "" : ", directory trees"))")
        for failure in summary.failures { print("FAILED \(failure)") }
        if !summary.failures.isEmpty { throw ExitCode(1) }
    }
}
