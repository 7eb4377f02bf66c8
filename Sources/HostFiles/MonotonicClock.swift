import Glibc

/// Seconds of `CLOCK_MONOTONIC`: for intervals and deadlines that setting the wall clock
/// must not move (the alert cap's windows, the plugin's due work, a scan's cost).
public enum MonotonicClock {
    public static func seconds() -> Double {
        var clock = timespec()
        clock_gettime(CLOCK_MONOTONIC, &clock)
        return Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9
    }
}
