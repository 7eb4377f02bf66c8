import HostFiles
import Outputs

/// A titled table of display text: what every evidence format but JSON is made of. A
/// table is rendered whole (`text`, `html`) or row by row (`csvRow`, `textRow`) when its
/// rows stream.
public struct Table: Sendable {
    public var title: String
    public var columns: [String]
    public var rows: [[String]]
    /// A line under the title (what the table is, what it cannot say).
    public var note: String?

    public init(title: String, columns: [String], rows: [[String]] = [], note: String? = nil) {
        (self.title, self.columns, self.rows, self.note) = (title, columns, rows, note)
    }

    // MARK: Text

    /// A terminal table: the title, its note, the columns padded to their widest cell
    /// (at most `maximumWidth`; longer cells run on, never cut: evidence is not shortened).
    public var text: String {
        var out = "\(DisplayText.printable(title))\n"
        if let note { out += "  \(DisplayText.printable(note))\n" }
        guard !rows.isEmpty else { return out + "  (none)\n" }
        let widths = columns.indices.map { column in
            min(Self.maximumWidth, ([columns[column]] + rows.map { column < $0.count ? DisplayText.printable($0[column]) : "" }).map(\.count).max() ?? 0)
        }
        out += Self.textRow(columns, widths: widths) + "\n"
        for row in rows { out += Self.textRow(row, widths: widths) + "\n" }
        return out
    }

    public static let maximumWidth = 48


    public static func textRow(_ cells: [String], widths: [Int]) -> String {
        var line = " "
        for (index, cell) in cells.map(DisplayText.printable).enumerated() {
            line += " " + cell
            if index < cells.count - 1, index < widths.count, cell.count < widths[index] {
                line += String(repeating: " ", count: widths[index] - cell.count)
            }
        }
        return line
    }

    // MARK: CSV (RFC 4180)

    public static func csvRow(_ cells: [String]) -> String {
        cells.map(DisplayText.printable).map { cell in
            cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + cell.replacingAll("\"", with: "\"\"") + "\"" : cell
        }.joined(separator: ",") + "\r\n"
    }

    public var csv: String { ([columns] + rows).map(Self.csvRow).joined() }

    // MARK: HTML

    public var html: String {
        var out = "<section><h2>\(HTML.escape(title))</h2>\n"
        if let note { out += "<p class=\"note\">\(HTML.escape(note))</p>\n" }
        return out + htmlBody() + "</section>\n"
    }

    /// The table alone (`(none)` when it has no rows), its cells classed by column.
    public func htmlBody(classes: [String] = []) -> String {
        guard !rows.isEmpty else { return "<p class=\"none\">(none)</p>\n" }
        return Self.htmlHead(columns) + rows.map { Self.htmlRow($0, classes: classes) }.joined() + "</tbody></table>\n"
    }

    public static func htmlHead(_ columns: [String]) -> String {
        "<table><thead><tr>" + columns.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
    }

    /// A row; a cell's class comes from its text when it is a verdict word (PASS, FAIL,
    /// alert...), so the page can colour it.
    /// `classes` names each column's cell class: `t` (a time), `id`, `n` (a number), `h`
    /// (a host) and `d` (a decision or action) never wrap; `p` (paths) breaks only after a
    /// `/`; a line break in a cell is kept.
    public static func htmlRow(_ cells: [String], classes: [String] = []) -> String {
        "<tr>" + cells.enumerated().map { index, cell in
            let marked = ["PASS", "WARN", "FAIL", "alert", "excluded", "none", "pass", "fail", "modified", "unowned"].contains(cell)
            let kind = index < classes.count ? classes[index] : ""
            let names = [marked ? "v-\(cell.lowercased())" : "", kind].filter { !$0.isEmpty }.joined(separator: " ")
            // Each line escaped alone (the escape writes a line break as \x0a), then joined.
            // A path's pieces between slashes never break (not at a hyphen either): only
            // after a `/`.
            let text = cell.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                guard kind == "p" else { return HTML.escape(String(line)) }
                return line.split(separator: "/", omittingEmptySubsequences: false).enumerated().map { index, piece in
                    let text = HTML.escape(String(piece)) + (index < line.split(separator: "/", omittingEmptySubsequences: false).count - 1 ? "/" : "")
                    return text.isEmpty ? "" : "<span class=\"s\">\(text)</span>"
                }.joined(separator: "<wbr>")
            }.joined(separator: "<br>")
            return (names.isEmpty ? "<td>" : "<td class=\"\(names)\">") + text + "</td>"
        }.joined() + "</tr>\n"
    }
}

public enum HTML {
    /// Escapes by Unicode scalar, not by Character: a combining or prepended scalar
    /// (U+0600 ...) would otherwise join the `<` after it into one Character and pass.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in DisplayText.printable(text).unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}

/// Times for people: ISO 8601 in UTC, to the second (`2026-11-30T03:28:29Z`).
public func isoTime(_ time: Double) -> String {
    // Beyond year 5138 (or not a number): a log's garbage, shown as it is.
    guard time.isFinite, abs(time) < 1e11 else { return "\(time) s" }
    let seconds = Int(time.rounded(.down))
    let text = Timestamp.iso8601(seconds: seconds, milliseconds: Int((time - Double(seconds)) * 1000))
    return String(text.prefix(19)) + "Z"
}
