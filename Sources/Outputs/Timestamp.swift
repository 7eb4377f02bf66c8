/// `@timestamp` text: ISO 8601 in UTC with milliseconds (`2026-11-27T06:28:13.159Z`),
/// computed from the audit record's epoch seconds without consulting the local zone.
public enum Timestamp {
    public static func iso8601(seconds: Int, milliseconds: Int) -> String {
        var text: [UInt8] = []
        appendISO8601(seconds: seconds, milliseconds: milliseconds, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// Appends the timestamp's text to `output`.
    static func appendISO8601(seconds: Int, milliseconds: Int, to output: inout [UInt8]) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        appendPadded(year, 4, "-", to: &output)
        appendPadded(month, 2, "-", to: &output)
        appendPadded(day, 2, "T", to: &output)
        appendPadded(secondOfDay / 3600, 2, ":", to: &output)
        appendPadded(secondOfDay / 60 % 60, 2, ":", to: &output)
        appendPadded(secondOfDay % 60, 2, ".", to: &output)
        appendPadded(milliseconds, 3, "Z", to: &output)
    }

    /// Howard Hinnant's `civil_from_days`: proleptic Gregorian date of a day number.
    static func civilDate(daysSinceEpoch: Int) -> (year: Int, month: Int, day: Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `value` in at least `width` decimal digits, then `separator`.
    private static func appendPadded(_ value: Int, _ width: Int, _ separator: Unicode.Scalar, to output: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        while divisor * 10 <= value { divisor *= 10 }
        var rest = max(0, value)
        while divisor > 0 {
            output.append(UInt8(truncatingIfNeeded: 48 + rest / divisor))
            rest %= divisor
            divisor /= 10
        }
        output.append(UInt8(separator.value))
    }
}
