/// The part of TOML that Elastic's detection-rules files use: tables, arrays of tables,
/// dotted table names, bare and quoted keys, basic, literal and multi-line strings,
/// integers, booleans and (multi-line) arrays. Anything else is an error with its line.
///
/// A small parser of our own: the TOML packages available here pull in C++ and test-only
/// dependencies that are not, and a rule file is a few kilobytes of a fixed shape.
public enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int)
    case bool(Bool)
    case array([TOMLValue])
    case table(TOMLTable)
}

/// Keys in file order (a rule's metadata is printed in it).
public struct TOMLTable: Equatable, Sendable {
    public private(set) var keys: [String] = []
    public private(set) var values: [String: TOMLValue] = [:]

    public subscript(key: String) -> TOMLValue? { values[key] }

    mutating func set(_ key: String, _ value: TOMLValue) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
    }

    /// Lets `change` edit the value of `key` in place (nil: absent): a nested table is
    /// changed without a copy of it, so that a file of many keys parses in linear time.
    mutating func modify<Failure: Error>(_ key: String, _ change: (inout TOMLValue?) throws(Failure) -> Void) throws(Failure) {
        let existed = values[key] != nil
        try change(&values[key])
        if !existed && values[key] != nil { keys.append(key) }
    }

    public func string(_ key: String) -> String? {
        if case .string(let value) = values[key] { return value }
        return nil
    }

    public func integer(_ key: String) -> Int? {
        if case .integer(let value) = values[key] { return value }
        return nil
    }

    public func strings(_ key: String) -> [String]? {
        guard case .array(let items) = values[key] else { return nil }
        return items.compactMap { if case .string(let value) = $0 { return value } else { return nil } }
    }

    public func table(_ key: String) -> TOMLTable? {
        if case .table(let value) = values[key] { return value }
        return nil
    }

    /// An array of tables (`[[name]]`).
    public func tables(_ key: String) -> [TOMLTable] {
        guard case .array(let items) = values[key] else { return [] }
        return items.compactMap { if case .table(let value) = $0 { return value } else { return nil } }
    }
}

public struct TOMLError: Error, CustomStringConvertible, Equatable {
    public let line: Int
    public let message: String
    public var description: String { "line \(line): \(message)" }
}

public enum TOMLDocument {
    /// Arrays nested, and parts of a key or table name, at most (rules use two or three):
    /// deeper text is refused with its line, never parsed by recursion without end.
    public static let maximumDepth = 32

    /// Parses a whole document into its root table.
    public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        var parser = Parser(Array(text.unicodeScalars))
        return try parser.document()
    }

    private struct Parser {
        let text: [Unicode.Scalar]
        var index = 0
        var line = 1
        /// Arrays open around the value being read.
        var depth = 0
        var root = TOMLTable()
        /// The path of the table being filled, and whether each step is an array element.
        var current: [String] = []

        init(_ text: [Unicode.Scalar]) { self.text = text }

        var atEnd: Bool { index >= text.count }
        var peek: Unicode.Scalar? { atEnd ? nil : text[index] }

        func error(_ message: String) -> TOMLError { TOMLError(line: line, message: message) }

        mutating func advance() {
            if text[index] == "\n" { line += 1 }
            index += 1
        }

        mutating func skipBlanks() {
            while let c = peek, c == " " || c == "\t" || c == "\r" { advance() }
        }

        /// Blanks, newlines and comments.
        mutating func skipSpace() {
            while let c = peek {
                if c == " " || c == "\t" || c == "\r" || c == "\n" { advance() }
                else if c == "#" { while let d = peek, d != "\n" { advance() } }
                else { break }
            }
        }

        mutating func endOfLine() throws(TOMLError) {
            skipBlanks()
            if peek == "#" { while let d = peek, d != "\n" { advance() } }
            guard atEnd || peek == "\n" else { throw error("unexpected text after a value") }
        }

        mutating func document() throws(TOMLError) -> TOMLTable {
            while true {
                skipSpace()
                guard let c = peek else { return root }
                if c == "[" {
                    advance()
                    let isArray = peek == "["
                    if isArray { advance() }
                    skipBlanks()
                    let path = try keyPath()
                    guard peek == "]" else { throw error("expected ']' after a table name") }
                    advance()
                    if isArray {
                        guard peek == "]" else { throw error("expected ']]' after an array-of-tables name") }
                        advance()
                    }
                    try endOfLine()
                    try openTable(path, asArrayElement: isArray)
                } else {
                    let path = try keyPath()
                    guard peek == "=" else { throw error("expected '=' after key \(path.joined(separator: "."))") }
                    advance()
                    skipBlanks()
                    let value = try self.value()
                    try endOfLine()
                    try assign(current + path, value)
                }
            }
        }

        mutating func keyPath() throws(TOMLError) -> [String] {
            var path: [String] = []
            while true {
                skipBlanks()
                if peek == "\"" { path.append(try basicString()) }
                else if peek == "'" { path.append(try literalString()) }
                else {
                    var key = ""
                    while let c = peek, c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_" || c == "-" {
                        key.unicodeScalars.append(c)
                        advance()
                    }
                    guard !key.isEmpty else { throw error("expected a key") }
                    path.append(key)
                }
                skipBlanks()
                guard peek == "." else { return path }
                guard path.count < TOMLDocument.maximumDepth else {
                    throw error("a key of more than \(TOMLDocument.maximumDepth) parts (the limit)")
                }
                advance()
            }
        }

        mutating func value() throws(TOMLError) -> TOMLValue {
            guard let c = peek else { throw error("expected a value") }
            switch c {
            case "\"": return .string(try basicString())
            case "'": return .string(try literalString())
            case "[": return .array(try array())
            case "t", "f":
                var word = ""
                while let d = peek, d.properties.isAlphabetic { word.unicodeScalars.append(d); advance() }
                guard word == "true" || word == "false" else { throw error("unsupported value '\(word)'") }
                return .bool(word == "true")
            case "-", "+", "0"..."9":
                var digits = ""
                while let d = peek, ("0"..."9").contains(d) || d == "-" || d == "+" || d == "_" {
                    if d != "_" { digits.unicodeScalars.append(d) }
                    advance()
                }
                guard let number = Int(digits) else { throw error("unsupported number '\(digits)'") }
                return .integer(number)
            case "{": throw error("inline tables are not supported")
            default: throw error("unsupported value starting with '\(c)'")
            }
        }

        mutating func array() throws(TOMLError) -> [TOMLValue] {
            guard depth < TOMLDocument.maximumDepth else {
                throw error("arrays nested more than \(TOMLDocument.maximumDepth) deep (the limit)")
            }
            depth += 1
            defer { depth -= 1 }
            advance() // [
            var items: [TOMLValue] = []
            while true {
                skipSpace()
                if peek == "]" { advance(); return items }
                items.append(try value())
                skipSpace()
                if peek == "," { advance(); continue }
                guard peek == "]" else { throw error("expected ',' or ']' in an array") }
            }
        }

        /// `"..."` or `"""..."""`, with escapes.
        mutating func basicString() throws(TOMLError) -> String { try quotedString("\"", escapes: true) }

        /// `'...'` or `'''...'''`, taken as written.
        mutating func literalString() throws(TOMLError) -> String { try quotedString("'", escapes: false) }

        /// A string delimited by `quote` (tripled for a multi-line string, whose first
        /// newline is dropped).
        mutating func quotedString(_ quote: Unicode.Scalar, escapes: Bool) throws(TOMLError) -> String {
            let triple = String(repeating: String(quote), count: 3)
            let multiline = starts(with: triple)
            index += multiline ? 3 : 1
            if multiline && peek == "\n" { advance() }
            var result = ""
            while true {
                guard let c = peek else { throw error("unterminated string") }
                if multiline ? starts(with: triple) : c == quote {
                    index += multiline ? 3 : 1
                    return result
                }
                if c == "\n" && !multiline { throw error("newline in a single-line string") }
                advance()
                if escapes && c == "\\" {
                    try escape(into: &result, multiline: multiline)
                } else {
                    result.unicodeScalars.append(c)
                }
            }
        }

        /// The character after a backslash in a basic string.
        mutating func escape(into result: inout String, multiline: Bool) throws(TOMLError) {
            guard let escaped = peek else { throw error("unterminated string") }
            advance()
            switch escaped {
            case "\"": result += "\""
            case "\\": result += "\\"
            case "n": result += "\n"
            case "t": result += "\t"
            case "r": result += "\r"
            case "b": result += "\u{8}"
            case "f": result += "\u{C}"
            case "u", "U":
                let width = escaped == "u" ? 4 : 8
                guard index + width <= text.count,
                      let code = UInt32(String(String.UnicodeScalarView(text[index..<index + width])), radix: 16),
                      let scalar = Unicode.Scalar(code) else { throw error("bad \\u escape") }
                result.unicodeScalars.append(scalar)
                index += width
            case "\n" where multiline:
                skipSpace() // a line-ending backslash trims the newline and leading blanks
            default: throw error("unsupported escape '\\\(escaped)'")
            }
        }

        func starts(with marker: String) -> Bool {
            let scalars = Array(marker.unicodeScalars)
            return index + scalars.count <= text.count && Array(text[index..<index + scalars.count]) == scalars
        }

        mutating func openTable(_ path: [String], asArrayElement: Bool) throws(TOMLError) {
            current = path
            if asArrayElement {
                try Self.update(&root, path[...], line: line) { value throws(TOMLError) in
                    guard case .array(var items)? = value else {
                        if value == nil { value = .array([.table(TOMLTable())]); return }
                        throw TOMLError(line: line, message: "\(path.joined(separator: ".")) is not an array of tables")
                    }
                    items.append(.table(TOMLTable()))
                    value = .array(items)
                }
            } else {
                try Self.update(&root, path[...], line: line) { value throws(TOMLError) in
                    if value == nil { value = .table(TOMLTable()) }
                    guard case .table = value else {
                        throw TOMLError(line: line, message: "\(path.joined(separator: ".")) is not a table")
                    }
                }
            }
        }

        mutating func assign(_ path: [String], _ new: TOMLValue) throws(TOMLError) {
            let line = self.line
            try Self.update(&root, path[...], line: line) { value throws(TOMLError) in
                guard value == nil else { throw TOMLError(line: line, message: "key \(path.joined(separator: ".")) defined twice") }
                value = new
            }
        }

        /// Walks `path` from `table`, descending into the last element of arrays of tables,
        /// creating intermediate tables, and lets `change` edit the final value.
        /// Static, so that the parser's own `root` is changed in place: a method of the
        /// parser given `&root` would copy the whole document for every key.
        static func update(_ table: inout TOMLTable, _ path: ArraySlice<String>, line: Int,
                           _ change: (inout TOMLValue?) throws(TOMLError) -> Void) throws(TOMLError) {
            func error(_ message: String) -> TOMLError { TOMLError(line: line, message: message) }
            let key = path.first!
            try table.modify(key) { value throws(TOMLError) in
                guard path.count > 1 else { return try change(&value) }
                // Each child is taken out of its parent while it changes, and the parent's
                // reference dropped, so that it is changed in place: no copy of it.
                var current = value.take()
                if current == nil {
                    var child = TOMLTable()
                    try update(&child, path.dropFirst(), line: line, change)
                    value = .table(child)
                } else if case .table(var child)? = current {
                    current = nil
                    try update(&child, path.dropFirst(), line: line, change)
                    value = .table(child)
                } else if case .array(var items)? = current {
                    current = nil
                    guard case .table(var child)? = items.last else { throw error("\(key) is not a table") }
                    items[items.count - 1] = .bool(false)
                    try update(&child, path.dropFirst(), line: line, change)
                    items[items.count - 1] = .table(child)
                    value = .array(items)
                } else {
                    value = current
                    throw error("\(key) is not a table")
                }
            }
        }
    }
}
