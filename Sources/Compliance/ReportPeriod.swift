import Glibc

/// The period a report covers, `since` included and `until` excluded, in seconds since the
/// epoch; either end may be open.
public struct ReportPeriod: Sendable, Equatable {
    public var since: Double?
    public var until: Double?

    public init(since: Double? = nil, until: Double? = nil) {
        self.since = since
        self.until = until
    }

    public func contains(_ time: Double) -> Bool {
        (since.map { time >= $0 } ?? true) && (until.map { time < $0 } ?? true)
    }

    /// A record's time on the period's scale, from its header's seconds and milliseconds.
    /// One formula for every record, and `parse` reads `.187` to the same number, so an
    /// end given to the millisecond is that record's time exactly.
    public static func time(seconds: some BinaryInteger, milliseconds: some BinaryInteger) -> Double {
        Double(seconds) + Double(milliseconds) / 1000
    }

    /// The error for a time `parse(_:now:)` cannot read.
    public struct ParseError: Error, CustomStringConvertible {
        public var text: String
        public var description: String {
            "cannot read the time \"\(text)\": give an ISO 8601 date or date-time (2026-11-30, 2026-11-30T08:00:00Z, "
                + "2026-11-30 08:00:00+01:00; without a zone, local time) or one of now, recent, today, yesterday, "
                + "this-week, week-ago, this-month, this-year"
        }
    }

    /// Reads a `--since` or `--until` value as seconds since the epoch:
    /// - an ISO 8601 date (local midnight) or date-time, `T` or a space between, seconds
    ///   and a fraction optional, `Z` or `±HH:MM` or local time;
    /// - ausearch's words (ausearch(8)): `now`; `recent`, ten minutes ago; `today`,
    ///   `yesterday`, `week-ago`, `this-month`, `this-year`, local midnight of that day,
    ///   seven days ago, the month's and the year's first day; `this-week`, local midnight
    ///   of this week's Monday (ISO 8601's week: ausearch takes the locale's first day).
    public static func parse(_ text: String, now: Double) throws(ParseError) -> Double {
        let word = text.lowercased()
        if word == "now" { return now }
        if word == "recent" { return now - 600 }
        var local = tm()
        var seconds = time_t(now)
        localtime_r(&seconds, &local)
        local.tm_hour = 0
        local.tm_min = 0
        local.tm_sec = 0
        local.tm_isdst = -1
        switch word {
        case "today": break
        case "yesterday": local.tm_mday -= 1
        case "week-ago": local.tm_mday -= 7
        case "this-week": local.tm_mday -= (local.tm_wday + 6) % 7
        case "this-month": local.tm_mday = 1
        case "this-year": local.tm_mday = 1; local.tm_mon = 0
        default: return try dateTime(text)
        }
        return Double(mktime(&local))
    }

    /// The days of a month of the Gregorian calendar (2026-02-30 is no date).
    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH[:]MM]`.
    private static func dateTime(_ text: String) throws(ParseError) -> Double {
        var scanner = Array(text.utf8)[...]
        func number(_ digits: Int) -> Int? {
            guard scanner.count >= digits else { return nil }
            var value = 0
            for _ in 0..<digits {
                let byte = scanner.removeFirst()
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        func take(_ character: Character) -> Bool {
            guard scanner.first == character.asciiValue else { return false }
            scanner.removeFirst()
            return true
        }
        guard let year = number(4), take("-"), let month = number(2), take("-"), let day = number(2),
              (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day) else { throw ParseError(text: text) }
        var (hour, minute, second, fraction) = (0, 0, 0, 0.0)
        if take("T") || take("t") || take(" ") {
            guard let h = number(2), take(":"), let m = number(2), h < 24, m < 60 else { throw ParseError(text: text) }
            (hour, minute) = (h, m)
            if take(":") {
                guard let s = number(2), s < 61 else { throw ParseError(text: text) }
                second = s
                if take(".") || take(",") {
                    // Digits over a power of ten in one division: `.187` is 187/1000, the
                    // same Double an event's `SEC.187` stamp gives.
                    var (digits, scale) = (0, 1)
                    while let byte = scanner.first, byte >= 48 && byte <= 57, scale < 1_000_000_000 {
                        (digits, scale) = (digits * 10 + Int(byte - 48), scale * 10)
                        scanner.removeFirst()
                    }
                    fraction = Double(digits) / Double(scale)
                }
            }
        }
        var offset: Int?
        if take("Z") || take("z") {
            offset = 0
        } else if let sign = scanner.first, sign == 43 || sign == 45 {
            scanner.removeFirst()
            guard let h = number(2) else { throw ParseError(text: text) }
            _ = take(":")
            guard let m = number(2) else { throw ParseError(text: text) }
            offset = (sign == 45 ? -1 : 1) * (h * 3600 + m * 60)
        }
        guard scanner.isEmpty else { throw ParseError(text: text) }
        var fields = tm()
        fields.tm_year = Int32(year - 1900)
        fields.tm_mon = Int32(month - 1)
        fields.tm_mday = Int32(day)
        fields.tm_hour = Int32(hour)
        fields.tm_min = Int32(minute)
        fields.tm_sec = Int32(second)
        fields.tm_isdst = -1
        let base = offset.map { Double(timegm(&fields) - $0) } ?? Double(mktime(&fields))
        return base + fraction
    }
}
