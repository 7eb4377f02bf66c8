import HostFiles
/// A time during which the detector could not see the places, and why: what a change
/// found by a scan, and explained by no record, is attributed to.
public struct BlindWindow: Sendable, Equatable {
    /// What blinded the detector.
    public enum Cause: String, Sendable {
        /// Its watches were removed (`auditctl -D`, `augenrules --load`, `auditctl -W`).
        case watchesRemoved = "watches-removed"
        /// Auditing was switched off (`auditctl -e 0`); the kernel does not log it coming back on.
        case auditingDisabled = "auditing-disabled"
        /// The plugin (or auditd, which runs it) was not running, or the host was off.
        case notRunning = "detector-not-running"
        /// The kernel lost records (`lost` grew: backlog full, rate limit, no auditd).
        case recordsLost = "records-lost"
        /// A file system was mounted over or under a place: the watches stayed on the
        /// covered directory.
        case mount = "mount-over-place"
        /// The periodic scan: no blind time was seen, and the change is explained by none.
        case unexplained = "no-record"
    }

    /// Who caused it, from the records that said so (CONFIG_CHANGE and the same event's
    /// SYSCALL and PROCTITLE); all nil when nothing said.
    public struct Sender: Sendable, Equatable {
        public var auditID: UInt64?
        public var auditName: String?
        public var pid: Int?
        public var executable: RawPath?
        public var commandLine: [UInt8]?

        public init(auditID: UInt64? = nil, auditName: String? = nil, pid: Int? = nil, executable: RawPath? = nil,
                    commandLine: [UInt8]? = nil) {
            self.auditID = auditID
            self.auditName = auditName
            self.pid = pid
            self.executable = executable
            self.commandLine = commandLine
        }
    }

    public var cause: Cause
    public var sender: Sender?
    /// Seconds since the epoch: since when the detector could not see, and until when.
    public var start: Double
    public var end: Double

    public init(cause: Cause, sender: Sender? = nil, start: Double, end: Double) {
        self.cause = cause
        self.sender = sender
        self.start = start
        self.end = end
    }
}

/// A difference between the baseline and the places that no record explains, with the
/// blind windows it may have happened in (oldest first): one alert of
/// `UnwatchedChangeRule`.
public struct UnwatchedChange: Sendable, Equatable {
    public var change: BaselineChange
    public var windows: [BlindWindow]
    /// When the scan that found it ran (seconds since the epoch).
    public var found: Double

    public init(change: BaselineChange, windows: [BlindWindow], found: Double) {
        self.change = change
        self.windows = windows
        self.found = found
    }
}
