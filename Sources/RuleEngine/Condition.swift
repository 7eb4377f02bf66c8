import FileEvents

/// A compiled EQL condition, evaluated on file events.
///
/// Null semantics are Elasticsearch's, which runs a plain EQL query as one Query DSL
/// filter: a test of a field the event does not
/// have is false; `not` is plain negation, so `not (x in (...))` is true when x is
/// missing; `x != null` means x is present; `x != "v"` is `not (x == "v")`, true when x is
/// missing (a `must_not` term query).
public indirect enum Condition: Sendable, Equatable {
    case all([Condition])
    case any([Condition])
    case not(Condition)
    /// `field != null` (present) or `field == null` (missing, as `.not(.present)`).
    case present(RuleField, source: String)
    /// `==` (one value) or `in` (several): exact, case-sensitive, no wildcards.
    case equals(RuleField, [[UInt8]], source: String)
    /// `like`, `like~`, `:`: any of the patterns.
    case like(RuleField, [WildcardPattern], source: String)

    public func matches(_ event: FileEvent) -> Bool {
        switch self {
        case .all(let conditions): return conditions.allSatisfy { $0.matches(event) }
        case .any(let conditions): return conditions.contains { $0.matches(event) }
        case .not(let condition): return !condition.matches(event)
        case .present(let field, _): return field.value(in: event) != nil
        case .equals(let field, let values, _):
            guard let value = field.value(in: event) else { return false }
            return values.contains(value)
        case .like(let field, let patterns, _):
            guard let value = field.value(in: event) else { return false }
            return patterns.contains { $0.matches(value) }
        }
    }

    /// Three-valued evaluation for an event with unknown fields (`FileEvent.hasUnknownFields`:
    /// a name io_uring did not log, a watched route's directory never named, a program no
    /// record names): nil where the answer depends on what is unknown. Path tests are
    /// decided from the directory where it is known (`DIR/*` matches every name in DIR);
    /// other tests of unknown values cannot be.
    /// Groups follow Kleene's logic: `and` is false if any part is, `or` true if any is.
    public func decide(_ event: FileEvent) -> Bool? {
        switch self {
        case .all(let conditions):
            return Self.kleene(conditions.lazy.map { $0.decide(event) }, deciding: false)
        case .any(let conditions):
            return Self.kleene(conditions.lazy.map { $0.decide(event) }, deciding: true)
        case .not(let condition):
            return condition.decide(event).map(!)
        case .present(let field, _):
            if field.value(in: event) != nil { return true }
            switch field.unknown(in: event) {
            case nil: return false
            // Every file has a path and a name, every user process a program; whether
            // the name has an extension is unknown.
            case .file(_, .extension)?: return nil
            case .file?, .program?: return true
            }
        case .equals(let field, let values, _):
            switch field.unknown(in: event) {
            case nil: return matches(event)
            case .file(let directory?, .path)?:
                let prefix = directory.last == UInt8(ascii: "/") ? directory : directory + [UInt8(ascii: "/")]
                let possible = values.contains { value in
                    value.count > prefix.count && value.starts(with: prefix) && !value[prefix.count...].contains(UInt8(ascii: "/"))
                }
                return possible ? nil : false
            case .file?, .program?: return nil
            }
        case .like(let field, let patterns, _):
            switch field.unknown(in: event) {
            case nil: return matches(event)
            case .file(let directory?, .path)?:
                return Self.kleene(patterns.lazy.map { $0.decide(inDirectory: directory) }, deciding: true)
            case .file?, .program?: return nil
            }
        }
    }

    /// Kleene's `and` (`deciding` false) or `or` (`deciding` true) of `values`: the
    /// deciding value if any part has it, else unknown if any part is, else the other.
    static func kleene<Values: Sequence<Bool?>>(_ values: Values, deciding: Bool) -> Bool? {
        var result: Bool? = !deciding
        for value in values {
            if value == deciding { return deciding }
            if value == nil { result = nil }
        }
        return result
    }

    /// The clause as written in the query (for leaves) or a summary (for groups).
    public var source: String {
        switch self {
        case .present(_, let source), .equals(_, _, let source), .like(_, _, let source): source
        case .all(let conditions): conditions.map(\.source).joined(separator: " and ")
        case .any(let conditions): "(" + conditions.map(\.source).joined(separator: " or ") + ")"
        case .not(let condition): "not " + condition.source
        }
    }

    /// The leaves that made this condition true for `event`, as written; for a `like` list
    /// or an `in` list, the pattern or value that matched.
    func reasons(_ event: FileEvent) -> [String] {
        switch self {
        case .all(let conditions): return conditions.flatMap { $0.reasons(event) }
        case .any(let conditions): return conditions.first { $0.matches(event) }.map { $0.reasons(event) } ?? []
        case .not: return [source]
        case .present: return [source]
        case .equals(let field, let values, _):
            guard let value = field.value(in: event), values.contains(value) else { return [] }
            return ["\(field.rawValue) == \"\(String(decoding: value, as: UTF8.self))\""]
        case .like(let field, let patterns, _):
            guard let value = field.value(in: event), let pattern = patterns.first(where: { $0.matches(value) }) else { return [] }
            return ["\(field.rawValue) \(pattern.caseInsensitive ? "like~" : "like") \"\(pattern.text)\""]
        }
    }
}
