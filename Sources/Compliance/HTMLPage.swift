/// The frame of the evidence page: self-contained (styles inline, no scripts, no fetched
/// assets), printable on A4 landscape.
public enum HTMLPage {
    public static func head(title: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
        <title>\(HTML.escape(title))</title>
        <style>
        body { font: 13px/1.4 system-ui, sans-serif; margin: 1.5em; color: #111; }
        h1 { font-size: 18px; border-bottom: 2px solid #333; margin-top: 1.6em; }
        h2 { font-size: 15px; margin: 1.2em 0 .3em; }
        table { border-collapse: collapse; width: 100%; margin-bottom: 1em; }
        th, td { border: 1px solid #bbb; padding: 2px 5px; text-align: left; vertical-align: top; overflow-wrap: break-word; }
        th { background: #eee; white-space: nowrap; }
        td.t, td.id, td.n, td.h, td.d, td.v-alert, td.v-excluded, td.v-none, td.v-pass, td.v-fail, td.v-warn { white-space: nowrap; overflow-wrap: normal; }
        td.p, td.proc { overflow-wrap: normal; word-break: normal; }
        td.p .s { white-space: nowrap; }
        td.proc { font-size: 12px; }
        .note, .meta { color: #444; }
        .v-alert, .v-fail, .v-modified, .v-unowned { background: #fbd5d5; font-weight: bold; }
        .v-excluded { background: #e8e8e8; }
        .v-warn { background: #fff0c2; }
        .v-pass { background: #d8f0d8; }
        .verdict { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; margin: 1em 0; }
        .verdict .box { display: block; border: 2px solid #888; border-radius: 6px; padding: 8px 10px; color: #111; text-decoration: none; }
        .verdict .title { display: block; font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: #333; }
        .verdict .headline { display: block; font-size: 20px; font-weight: bold; margin: 2px 0 4px; }
        .verdict .line { display: block; font-size: 12px; }
        .t-alert, .t-fail { border-color: #c0392b; background: #fdecea; }
        .t-warn { border-color: #c79100; background: #fff7e0; }
        .t-pass { border-color: #2e7d32; background: #eaf6ea; }
        svg { display: block; margin: .5em 0 1em; }
        @media print {
          body { margin: 0; font-size: 11px; }
          thead { display: table-header-group; }
          tr { break-inside: avoid; }
          h1 { break-before: page; }
          .verdict + h1 { break-before: auto; }
          .verdict { break-inside: avoid; }
          a { color: inherit; }
          @page { size: A4 landscape; margin: 10mm; }
        }
        </style>
        </head>
        <body>
        <p><strong>\(HTML.escape(title))</strong></p>

        """
    }

    public static let foot = "</body>\n</html>\n"
}

/// One timeline per host, inline SVG: the stretch its logs cover (green), gaps (red, or
/// amber when partial), each change as a tick (red alert, grey excluded, blue none) and
/// auditd's own events as triangles.
enum TimelineSVG {
    static let width = 960.0
    static let rowHeight = 46.0
    static let left = 150.0

    static func svg(report: PeriodReport, hosts: [ReportWriter.HostGaps]) -> String {
        let trails = hosts.map(\.trail)
        guard !trails.isEmpty else { return "<p class=\"none\">No records in the period.</p>\n" }
        let start = report.period.since ?? trails.compactMap(\.firstRecord).min() ?? 0
        let end = max(start + 1, report.period.until ?? trails.compactMap(\.lastRecord).max() ?? start + 1)
        guard start.isFinite, end.isFinite, end - start > 0, abs(start) < 1e11, abs(end) < 1e11 else {
            return "<p class=\"none\">No timeline: the records' times are out of range.</p>\n"
        }
        let span = width - left - 10
        func x(_ time: Double) -> Double { left + (min(max(time, start), end) - start) / (end - start) * span }
        func number(_ value: Double) -> String { String(Int(value.rounded())) }
        let height = rowHeight * Double(trails.count) + 30
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(number(width))\" height=\"\(number(height))\" "
            + "viewBox=\"0 0 \(number(width)) \(number(height))\" role=\"img\" aria-label=\"timeline per host\">\n"
        svg += "<text x=\"\(number(left))\" y=\"12\" font-size=\"11\">\(HTML.escape(isoTime(start)))</text>"
        svg += "<text x=\"\(number(width - 10))\" y=\"12\" font-size=\"11\" text-anchor=\"end\">\(HTML.escape(isoTime(end)))</text>\n"
        for (row, (trail, gaps)) in hosts.map({ ($0.trail, $0.gaps) }).enumerated() {
            let y = 20 + Double(row) * rowHeight
            svg += "<text x=\"4\" y=\"\(number(y + 18))\" font-size=\"12\">\(HTML.escape(trail.host))</text>\n"
            svg += "<rect x=\"\(number(left))\" y=\"\(number(y + 8))\" width=\"\(number(span))\" height=\"14\" fill=\"#f2f2f2\" stroke=\"#999\"/>\n"
            if let first = trail.firstRecord, let last = trail.lastRecord {
                svg += "<rect x=\"\(number(x(first)))\" y=\"\(number(y + 8))\" width=\"\(number(max(1, x(last) - x(first))))\" height=\"14\" fill=\"#9fd89f\"><title>records from \(HTML.escape(isoTime(first))) to \(HTML.escape(isoTime(last)))</title></rect>\n"
            }
            for gap in gaps {
                svg += "<rect x=\"\(number(x(gap.from)))\" y=\"\(number(y + 8))\" width=\"\(number(max(2, x(gap.to) - x(gap.from))))\" height=\"14\" fill=\"\(gap.partial ? "#f5c542" : "#e05252")\"><title>\(HTML.escape(isoTime(gap.from) + " to " + isoTime(gap.to) + ": " + gap.reason))</title></rect>\n"
            }
            for mark in trail.marks(in: report.period) {
                let mx = x(mark.time)
                svg += "<path d=\"M\(number(mx - 4)) \(number(y + 4)) L\(number(mx + 4)) \(number(y + 4)) L\(number(mx)) \(number(y + 9)) Z\" fill=\"#333\"><title>\(HTML.escape(isoTime(mark.time) + " " + mark.kind.rawValue + " " + mark.detail))</title></path>\n"
            }
            for (time, decision) in report.timeline[trail.host] ?? [] {
                let colour = decision == "alert" ? "#c00000" : decision == "excluded" ? "#777" : "#2255cc"
                svg += "<line x1=\"\(number(x(time)))\" y1=\"\(number(y + 24))\" x2=\"\(number(x(time)))\" y2=\"\(number(y + 36))\" stroke=\"\(colour)\" stroke-width=\"2\"><title>\(HTML.escape(isoTime(time) + " " + decision))</title></line>\n"
            }
        }
        svg += "</svg>\n<p class=\"note\">Green: records present. Red: no records (auditd stopped, or logs not given). "
            + "Amber: a watch was removed. Ticks: changes (red alert, grey excluded, blue not a rule case). Triangles: auditd and watch events.</p>\n"
        return svg
    }
}
