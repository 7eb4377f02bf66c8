/// A position in the query text, 1-based, for error messages.
public struct SourcePosition: Equatable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var description: String { "line \(line), column \(column)" }
}

/// A rule that cannot be loaded: what is wrong and where.
public struct RuleError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var position: SourcePosition?
    public var description: String { position.map { "\(message) (query \($0))" } ?? message }
}

struct EQLToken: Equatable {
    enum Kind: Equatable {
        case identifier(String)   // field names, keywords, function names
        case string(String)
        case number(String)
        case symbol(String)       // ( ) , == != : < > <= >= | [ ]
        case end
    }
    var kind: Kind
    var position: SourcePosition
    /// Offset range in the query, for quoting the clause back in explanations.
    var range: Range<Int>
}

/// Splits an EQL query into tokens.
struct EQLLexer {
    private let text: [Character]
    private var index = 0
    private var line = 1
    private var column = 1

    init(_ query: String) { text = Array(query) }

    mutating func tokens() throws(RuleError) -> [EQLToken] {
        var result: [EQLToken] = []
        while true {
            skipSpace()
            let position = SourcePosition(line: line, column: column)
            let start = index
            guard index < text.count else {
                result.append(EQLToken(kind: .end, position: position, range: start..<start))
                return result
            }
            let c = text[index]
            let kind: EQLToken.Kind
            if c == "\"" {
                kind = .string(try string(at: position))
            } else if c.isLetter || c == "_" || c == "?" || c == "@" {
                var word = ""
                // `?field` marks an optional field; `like~` and `in~` are one token.
                while index < text.count, text[index].isLetter || text[index].isNumber
                    || "_.?@~".contains(text[index]) {
                    word.append(text[index])
                    step()
                }
                kind = .identifier(word)
            } else if c.isNumber || (c == "-" && index + 1 < text.count && text[index + 1].isNumber) {
                var digits = String(c)
                step()
                while index < text.count, text[index].isNumber || text[index] == "." { digits.append(text[index]); step() }
                kind = .number(digits)
            } else {
                let two = index + 1 < text.count ? String([c, text[index + 1]]) : ""
                if ["==", "!=", "<=", ">="].contains(two) {
                    step(); step()
                    kind = .symbol(two)
                } else if "(),:<>|[]".contains(c) {
                    step()
                    kind = .symbol(String(c))
                } else {
                    throw RuleError(message: "unexpected character '\(c)'", position: position)
                }
            }
            result.append(EQLToken(kind: kind, position: position, range: start..<index))
        }
    }

    private mutating func step() {
        if text[index] == "\n" { line += 1; column = 1 } else { column += 1 }
        index += 1
    }

    private mutating func skipSpace() {
        while index < text.count {
            if text[index].isWhitespace { step() }
            else if text[index] == "/", index + 1 < text.count, text[index + 1] == "/" {
                while index < text.count, text[index] != "\n" { step() }
            } else { return }
        }
    }

    /// `"..."` with EQL's escapes, or `"""..."""` taken as written.
    private mutating func string(at position: SourcePosition) throws(RuleError) -> String {
        if index + 2 < text.count, text[index + 1] == "\"", text[index + 2] == "\"" {
            step(); step(); step()
            var value = ""
            while index + 2 < text.count, !(text[index] == "\"" && text[index + 1] == "\"" && text[index + 2] == "\"") {
                value.append(text[index])
                step()
            }
            guard index + 2 < text.count else { throw RuleError(message: "unterminated string", position: position) }
            step(); step(); step()
            return value
        }
        step()
        var value = ""
        while index < text.count, text[index] != "\"" {
            if text[index] == "\n" { throw RuleError(message: "newline in a string", position: position) }
            if text[index] == "\\" {
                step()
                guard index < text.count else { break }
                switch text[index] {
                case "n": value.append("\n")
                case "t": value.append("\t")
                case "r": value.append("\r")
                case "\"": value.append("\"")
                case "\\": value.append("\\")
                default: throw RuleError(message: "unsupported escape '\\\(text[index])'", position: position)
                }
            } else {
                value.append(text[index])
            }
            step()
        }
        guard index < text.count else { throw RuleError(message: "unterminated string", position: position) }
        step()
        return value
    }
}
