/// Parses the EQL subset Elastic's file rules use into a `Condition`:
/// `file where` with `and`, `or`, `not`, parentheses, `==`, `!=`, `in`, `not in`, `like`,
/// `like~`, `:`, string lists, `null` and optional fields (`?field`). Anything else
/// (a sequence, a pipe, a function, another event category, an unknown field) is an
/// error naming the construct and its position.
public enum EQLParser {
    /// `not`s and parentheses nested at most (Elastic's rules nest two or three): a
    /// deeper query is refused, never parsed or evaluated by recursion without end.
    public static let maximumDepth = 64

    public static func parse(_ query: String) throws(RuleError) -> Condition {
        var lexer = EQLLexer(query)
        var parser = Parser(tokens: try lexer.tokens(), text: Array(query))
        return try parser.query()
    }

    private struct Parser {
        let tokens: [EQLToken]
        let text: [Character]
        var index = 0
        /// `not`s and parentheses open around the token being read.
        var depth = 0

        var token: EQLToken { tokens[index] }

        func error(_ message: String, at token: EQLToken? = nil) -> RuleError {
            RuleError(message: message, position: (token ?? self.token).position)
        }

        func isWord(_ word: String) -> Bool {
            if case .identifier(let value) = token.kind { return value == word }
            return false
        }

        func isSymbol(_ symbol: String) -> Bool {
            if case .symbol(let value) = token.kind { return value == symbol }
            return false
        }

        mutating func query() throws(RuleError) -> Condition {
            guard case .identifier(let category) = token.kind else { throw error("a query starts with an event category") }
            if category == "sequence" || category == "sample" {
                throw error("\(category) queries are not supported (only `file where ...`)")
            }
            guard category == "file" else {
                throw error("event category '\(category)' is not supported: audisp-lkm sees file events only")
            }
            index += 1
            guard isWord("where") else { throw error("expected 'where' after 'file'") }
            index += 1
            let condition = try or()
            if isSymbol("|") { throw error("pipes are not supported") }
            guard token.kind == .end else { throw error("unexpected \(describe(token)) after the condition") }
            return condition
        }

        mutating func or() throws(RuleError) -> Condition {
            var terms = [try and()]
            while isWord("or") { index += 1; terms.append(try and()) }
            return terms.count == 1 ? terms[0] : .any(terms)
        }

        mutating func and() throws(RuleError) -> Condition {
            var terms = [try not()]
            while isWord("and") { index += 1; terms.append(try not()) }
            return terms.count == 1 ? terms[0] : .all(terms)
        }

        mutating func not() throws(RuleError) -> Condition {
            if isWord("not") || isSymbol("(") {
                guard depth < EQLParser.maximumDepth else {
                    throw error("'not' and parentheses nested more than \(EQLParser.maximumDepth) deep (the limit)")
                }
                depth += 1
            }
            if isWord("not") {
                index += 1
                defer { depth -= 1 }
                return .not(try not())
            }
            if isSymbol("(") {
                index += 1
                defer { depth -= 1 }
                let inner = try or()
                guard isSymbol(")") else { throw error("expected ')'") }
                index += 1
                return inner
            }
            return try comparison()
        }

        mutating func comparison() throws(RuleError) -> Condition {
            let start = token
            guard case .identifier(var name) = start.kind else { throw error("expected a field, found \(describe(token))") }
            index += 1
            if isSymbol("(") { throw error("function '\(name)' is not supported", at: start) }
            if name.hasPrefix("?") { name.removeFirst() } // optional field: missing is fine, as for any field
            guard let field = RuleField(rawValue: name) else {
                throw error("unknown field '\(name)'; supported: \(RuleField.allCases.map(\.rawValue).joined(separator: ", "))",
                            at: start)
            }
            let operatorToken = token
            var negated = false
            if isWord("not") { negated = true; index += 1 }
            let op: String
            switch token.kind {
            case .symbol(let symbol) where ["==", "!=", ":"].contains(symbol): op = symbol
            case .identifier(let word) where ["in", "like", "like~"].contains(word): op = word
            case .symbol(let symbol) where ["<", ">", "<=", ">="].contains(symbol):
                throw error("operator '\(symbol)' is not supported")
            case .identifier(let word) where ["in~", "regex", "regex~"].contains(word):
                throw error("operator '\(word)' is not supported")
            default: throw error("expected an operator after \(name), found \(describe(token))")
            }
            if negated && op != "in" { throw error("'not' before '\(op)' is not supported", at: operatorToken) }
            index += 1
            let values = try operands(list: op != "==" && op != "!=")
            let source = String(text[start.range.lowerBound..<tokens[index - 1].range.upperBound])

            if values.contains(nil) {
                guard values.count == 1, op == "==" || op == "!=" else { throw error("null can only be compared with == or !=", at: operatorToken) }
                let present = Condition.present(field, source: source)
                return op == "!=" ? present : .not(present)
            }
            let strings = values.map { $0! }
            let condition: Condition
            switch op {
            case "==", "!=", "in":
                condition = .equals(field, strings.map { Array($0.utf8) }, source: source)
            default:
                let caseInsensitive = op != "like"
                condition = .like(field, strings.map { WildcardPattern($0, caseInsensitive: caseInsensitive) }, source: source)
            }
            return op == "!=" || negated ? .not(condition) : condition
        }

        /// One value, or with `list`, also a parenthesised list; nil stands for `null`.
        mutating func operands(list: Bool) throws(RuleError) -> [String?] {
            if list && isSymbol("(") {
                index += 1
                var values: [String?] = []
                while true {
                    values.append(try operand())
                    if isSymbol(",") { index += 1; continue }
                    guard isSymbol(")") else { throw error("expected ',' or ')' in a list") }
                    index += 1
                    return values
                }
            }
            return [try operand()]
        }

        mutating func operand() throws(RuleError) -> String? {
            defer { index += 1 }
            switch token.kind {
            case .string(let value): return value
            case .identifier("null"): return nil
            case .number: throw error("numeric comparisons are not supported")
            default: throw error("expected a string or null, found \(describe(token))")
            }
        }

        func describe(_ token: EQLToken) -> String {
            switch token.kind {
            case .identifier(let word): "'\(word)'"
            case .string(let value): "\"\(value)\""
            case .number(let value): value
            case .symbol(let symbol): "'\(symbol)'"
            case .end: "the end of the query"
            }
        }
    }
}
