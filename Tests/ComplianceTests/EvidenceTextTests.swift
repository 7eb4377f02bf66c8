import Compliance
import Foundation
import HostFiles
import Testing

@Suite("Evidence text: times, checksums, cells")
struct EvidenceTextTests {
    @Test("ISO 8601 times and dates in every spelling; ausearch's words relative to now")
    func periods() throws {
        #expect(try ReportPeriod.parse("2026-11-30T03:32:57Z", now: 0) == 1_796_009_577)
        #expect(try ReportPeriod.parse("2026-11-30 04:32:57+01:00", now: 0) == 1_796_009_577)
        #expect(try ReportPeriod.parse("2026-11-30T03:32:57.187Z", now: 0) == 1_796_009_577 + 187.0 / 1000)
        #expect(try ReportPeriod.parse("2026-11-30T03:32Z", now: 0) == 1_796_009_520)
        // Without a zone: local time, as mktime reads it.
        var fields = tm()
        (fields.tm_year, fields.tm_mon, fields.tm_mday, fields.tm_isdst) = (126, 10, 30, -1)
        #expect(try ReportPeriod.parse("2026-11-30", now: 0) == Double(mktime(&fields)))
        let now = 1_796_009_577.0
        let today = try ReportPeriod.parse("today", now: now)
        #expect(today <= now && now - today < 86_400)
        #expect(try ReportPeriod.parse("recent", now: now) == now - 600)
        #expect(try ReportPeriod.parse("NOW", now: now) == now)
        let yesterday = try ReportPeriod.parse("yesterday", now: now)
        #expect(abs(today - yesterday - 86_400) <= 3600)
        var seconds = time_t(try ReportPeriod.parse("this-week", now: now))
        var local = tm()
        localtime_r(&seconds, &local)
        #expect(local.tm_wday == 1 && local.tm_hour == 0)
        seconds = time_t(try ReportPeriod.parse("this-month", now: now))
        localtime_r(&seconds, &local)
        #expect(local.tm_mday == 1)
        seconds = time_t(try ReportPeriod.parse("this-year", now: now))
        localtime_r(&seconds, &local)
        #expect(local.tm_mday == 1 && local.tm_mon == 0)
        #expect(try ReportPeriod.parse("2024-02-29T00:00:00Z", now: 0) == 1_709_164_800)
        for bad in ["2026-13-01", "2026-02-29", "2026-02-30", "2026-04-31", "2026-11-30T25:00", "30/11/2026", "2026-11-30Tx", "last-week", ""] {
            #expect(throws: ReportPeriod.ParseError.self, "\(bad)") { try ReportPeriod.parse(bad, now: now) }
        }
        #expect(ReportPeriod(since: 10, until: 20).contains(10) && !ReportPeriod(since: 10, until: 20).contains(20))
    }

    @Test("MD5 gives RFC 1321's test vectors")
    func md5() {
        #expect(MD5.hex([]) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(MD5.hex(Array("abc".utf8)) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(MD5.hex(Array("12345678901234567890123456789012345678901234567890123456789012345678901234567890".utf8))
                == "57edf4a22be3c955ac49da2e2107b67a")
    }

    @Test("a name's bytes stay readable and exact: no byte can break a line, a cell or the page")
    func cells() {
        #expect(DisplayText.of(Array("/etc/modprobe.d/é.conf".utf8)) == "/etc/modprobe.d/é.conf")
        #expect(DisplayText.of([0x2F, 0x61, 0x0A, 0xFF, 0x5C]) == "/a\\x0a\\xff\\\\")
        #expect(DisplayText.of([0xE2, 0x80]) == "\\xe2\\x80")
        // A right-to-left override, a zero-width space, a line separator: invisible, escaped.
        #expect(DisplayText.of("a\u{202E}b\u{200B}c\u{2028}d") == "a\\xe2\\x80\\xaeb\\xe2\\x80\\x8bc\\xe2\\x80\\xa8d")
        #expect(Table.csvRow(["a,b", "say \"hi\"", "plain"]) == "\"a,b\",\"say \"\"hi\"\"\",plain\r\n")
        #expect(Table.htmlRow(["<script>&", "alert"]) == "<tr><td>&lt;script&gt;&amp;</td><td class=\"v-alert\">alert</td></tr>\n")
        // A prepended-concatenation mark joins the `<` after it into one Character: escaping
        // by scalar still catches it.
        // U+0600 is an invisible prepended format character: shown as text, and the `<`
        // after it still escaped.
        #expect(HTML.escape("\u{0600}<img src=x onerror=alert(1)>") == "\\u{600}&lt;img src=x onerror=alert(1)&gt;")
        // Terminal cells: no newline or escape sequence gets through.
        #expect(DisplayText.printable("evil\n  FAKE\u{1B}[2J") == "evil\\x0a  FAKE\\x1b[2J")
    }

    @Test("display text reads back to the exact bytes, whatever they are")
    func displayTextReadsBack() {
        var samples: [[UInt8]] = [[], Array("\\x41".utf8), [0x5C, 0x78, 0xFF], Array("/etc/é\\.conf".utf8) + [0x0A, 0xC3]]
        // Every byte value, and random names from a fixed seed (a linear congruential generator).
        samples.append((0 ... 255).map { UInt8($0) })
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0 ..< 500 {
            samples.append((0 ..< Int(state % 24)).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                // Bias toward `\`, `x`, hex digits and UTF-8 lead bytes, where a mistake would be.
                let pick = Int(state >> 59)
                return pick < 8 ? [0x5C, 0x78, 0x66, 0x30, 0xC3, 0xA9, 0xE2, 0x80][pick] : UInt8(truncatingIfNeeded: state >> 33)
            })
        }
        for bytes in samples {
            #expect(DisplayText.bytes(of: DisplayText.of(bytes)) == bytes, "\(bytes)")
        }
        #expect(RawPath(displayText: "/etc/modprobe.d/a\\xff.conf").bytes == Array("/etc/modprobe.d/a".utf8) + [0xFF] + Array(".conf".utf8))
    }
}
