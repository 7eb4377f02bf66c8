/// At most `maximum` alerts per `window` seconds, then one line saying how many were
/// withheld: the seed rule's "max 100 alerts per 5-minute run" (Kibana's max_signals).
///
/// Windows are fixed: a window starts with the first alert after the previous one ended.
/// Replay measures time by the events' own timestamps; the plugin by the clock.
public struct AlertLimiter: Sendable {
    public let maximum: Int
    public let window: Double

    private var windowStart: Double?
    private var admitted = 0
    private var withheld = 0
    /// Alerts withheld in all windows.
    public private(set) var totalWithheld = 0

    public init(maximum: Int, window: Double) {
        self.maximum = maximum
        self.window = window
    }

    /// Whether an alert at `time` may be raised; when a window that withheld alerts has
    /// ended, `report` is called first with the summary line for it.
    public mutating func admit(at time: Double, report: (String) -> Void) -> Bool {
        if let start = windowStart, time >= start + window || time < start {
            closeWindow(report: report)
        }
        if windowStart == nil { windowStart = time }
        guard admitted < maximum else {
            withheld += 1
            totalWithheld += 1
            return false
        }
        admitted += 1
        return true
    }

    /// Reports the current window's withheld alerts, if any (end of input).
    public mutating func closeWindow(report: (String) -> Void) {
        if withheld > 0, let start = windowStart {
            report("\(withheld) alert\(withheld == 1 ? "" : "s") withheld: more than \(maximum) in the "
                   + "\(Int(window)) s window from \(start)")
        }
        windowStart = nil
        admitted = 0
        withheld = 0
    }
}
