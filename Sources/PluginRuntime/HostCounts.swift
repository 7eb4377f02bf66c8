/// The plugin's counts per host, for the state report. Fed by an aggregating auditd (its
/// hosts' records arrive with `node=` names) the plugin serves many hosts, and an
/// operator asks per host: file events, alerts raised, alerts the cap withheld. Records
/// without `node=` are the local host's. At most `capacity` hosts are named; the rest are
/// counted together, so a stream of invented names cannot grow the table.
struct HostCounts {
    struct Counts {
        var fileEvents = 0
        var alerts = 0
        var withheld = 0
    }

    static let capacity = 1024
    static let local = "(local)"
    static let others = "(other hosts)"
    private(set) var byHost: [String: Counts] = [:]

    mutating func update(_ node: String?, _ change: (inout Counts) -> Void) {
        var name = node ?? Self.local
        if byHost[name] == nil && byHost.count >= Self.capacity { name = Self.others }
        change(&byHost[name, default: Counts()])
    }

    /// `host NAME = file_events N, alerts N, withheld N` lines, by name.
    func add(to report: inout StateReport) {
        report.add("hosts", byHost.count)
        for (name, counts) in byHost.sorted(by: { $0.key < $1.key }) {
            report.add("host \(name)", "file_events \(counts.fileEvents), alerts \(counts.alerts), withheld \(counts.withheld)")
        }
    }
}
