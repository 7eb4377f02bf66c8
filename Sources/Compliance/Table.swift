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
        if rows.isEmpty { return out + "<p class=\"none\">(none)</p></section>\n" }
        out += Self.htmlHead(columns)
        for row in rows { out += Self.htmlRow(row) }
        return out + "</tbody></table></section>\n"
    }

    public static func htmlHead(_ columns: [String]) -> String {
        "<table><thead><tr>" + columns.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
    }

    /// A row; a cell's class comes from its text when it is a verdict word (PASS, FAIL,
    /// alert...), so the page can colour it.
    public static func htmlRow(_ cells: [String]) -> String {
        "<tr>" + cells.map { cell in
            let marked = ["PASS", "WARN", "FAIL", "alert", "excluded", "none", "pass", "fail", "modified", "unowned"].contains(cell)
            return marked ? "<td class=\"v-\(cell.lowercased())\">\(HTML.escape(cell))</td>" : "<td>\(HTML.escape(cell))</td>"
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
