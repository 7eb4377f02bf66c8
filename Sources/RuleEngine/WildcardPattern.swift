/// An EQL `like` / `like~` / `:` pattern, compiled once.
///
/// Elasticsearch semantics (EQL wildcards run as a wildcard query): the whole value must
/// match; `*` is any run of characters, `/` included (no path meaning); `?` is exactly one
/// character (one Unicode scalar); there is no escape, every `*` and `?` is a wildcard.
/// Case-insensitive patterns fold ASCII letters, which is what the rule's paths need;
/// other scripts compare exactly.
public struct WildcardPattern: Sendable, Equatable {
    enum Piece: Equatable, Sendable {
        case literal([UInt8])
        case anyCharacter
        case anyRun
    }

    let pieces: [Piece]
    let caseInsensitive: Bool
    /// The pattern as written, for explanations.
    public let text: String

    public init(_ text: String, caseInsensitive: Bool) {
        self.text = text
        self.caseInsensitive = caseInsensitive
        var pieces: [Piece] = []
        var literal: [UInt8] = []
        for scalar in text.unicodeScalars {
            if scalar == "*" || scalar == "?" {
                if !literal.isEmpty { pieces.append(.literal(literal)); literal = [] }
                // Consecutive stars are one star.
                if scalar == "*" { if pieces.last != .anyRun { pieces.append(.anyRun) } } else { pieces.append(.anyCharacter) }
            } else {
                let bytes = Array(String(scalar).utf8)
                literal += caseInsensitive ? bytes.map(Self.fold) : bytes
            }
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        self.pieces = pieces
    }

    /// ASCII lower case, as `like~` compares.
    @inline(__always)
    public static func fold(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }

    /// Whether the whole of `value` matches.
    public func matches(_ value: [UInt8]) -> Bool {
        value.withUnsafeBufferPointer { matches($0, from: 0, piece: 0) }
    }

    /// The classic wildcard walk: on a mismatch, go back to the last `*` and let it take
    /// one more byte. Earlier stars never need revisiting, so this is O(value × pattern)
    /// whatever the input (a file name is attacker-controlled; the pattern is not).
    private func matches(_ value: UnsafeBufferPointer<UInt8>, from start: Int, piece: Int) -> Bool {
        var position = start
        var index = piece
        var resume: (piece: Int, position: Int)?
        while true {
            if index == pieces.count {
                if position == value.count { return true }
            } else {
                switch pieces[index] {
                case .anyRun:
                    resume = (index + 1, position)
                    index += 1
                    continue
                case .anyCharacter where position < value.count:
                    position += Self.scalarLength(value, at: position)
                    index += 1
                    continue
                case .literal(let bytes) where position + bytes.count <= value.count && literal(bytes, at: position, in: value):
                    position += bytes.count
                    index += 1
                    continue
                default:
                    break
                }
            }
            // Mismatch: the last star takes one more byte, if it can.
            guard let last = resume, last.position < value.count else { return false }
            resume = (last.piece, last.position + 1)
            index = last.piece
            position = last.position + 1
        }
    }

    /// For a file in `directory` (canonical) whose name is unknown: true when the pattern
    /// matches every name there (`DIR/*`, or a star before it), false when it matches
    /// none, nil when that depends on the name. A name is non-empty and has no `/`.
    public func decide(inDirectory directory: [UInt8]) -> Bool? {
        var prefix = directory.last == UInt8(ascii: "/") ? directory : directory + [UInt8(ascii: "/")]
        if caseInsensitive { prefix = prefix.map(Self.fold) }
        if pieces == [.anyRun] { return true }
        if pieces.count == 2, case .literal(let head) = pieces[0], pieces[1] == .anyRun, prefix.starts(with: head) {
            return true
        }
        // Walk the prefix through the pattern, every way it can go (state: piece, offset
        // into a literal), then ask whether what is left can match a name.
        struct State: Hashable { var piece: Int; var offset: Int }
        func closure(_ states: Set<State>) -> Set<State> {
            var result = states
            for state in states where state.piece < pieces.count && pieces[state.piece] == .anyRun {
                result.insert(State(piece: state.piece + 1, offset: 0))
            }
            return result
        }
        var states = closure([State(piece: 0, offset: 0)])
        for byte in prefix {
            var next = Set<State>()
            for state in states where state.piece < pieces.count {
                switch pieces[state.piece] {
                case .anyRun: next.insert(state)
                case .anyCharacter: next.insert(State(piece: state.piece + 1, offset: 0))
                case .literal(let bytes) where bytes[state.offset] == byte:
                    next.insert(state.offset + 1 == bytes.count ? State(piece: state.piece + 1, offset: 0)
                                : State(piece: state.piece, offset: state.offset + 1))
                case .literal: break
                }
            }
            states = closure(next)
            if states.isEmpty { return false }
        }
        let slash = UInt8(ascii: "/")
        let canMatchAName = states.contains { state in
            guard state.piece < pieces.count else { return false }  // only the empty name is left
            for (index, piece) in pieces[state.piece...].enumerated() {
                if case .literal(let bytes) = piece, bytes[(index == 0 ? state.offset : 0)...].contains(slash) { return false }
            }
            return true
        }
        return canMatchAName ? nil : false
    }

    private func literal(_ bytes: [UInt8], at position: Int, in value: UnsafeBufferPointer<UInt8>) -> Bool {
        if caseInsensitive {
            for offset in 0..<bytes.count where Self.fold(value[position + offset]) != bytes[offset] { return false }
        } else {
            for offset in 0..<bytes.count where value[position + offset] != bytes[offset] { return false }
        }
        return true
    }

    /// The length of the UTF-8 sequence at `position` (1 for a byte that does not start one).
    private static func scalarLength(_ value: UnsafeBufferPointer<UInt8>, at position: Int) -> Int {
        let lead = value[position]
        let length = lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
        guard position + length <= value.count else { return 1 }
        for offset in 1..<length where value[position + offset] & 0xC0 != 0x80 { return 1 }
        return length
    }
}
