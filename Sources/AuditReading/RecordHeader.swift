import CAudit
import Glibc

/// The identity that groups records into one event: `msg=audit(SECONDS.MILLI:SERIAL)`
/// plus the `node=` name, compared exactly as libauparse compares them.
public struct EventID: Hashable, Sendable {
    public var seconds: UInt64
    public var milliseconds: UInt32
    public var serial: UInt64
    /// Index into the reader's node-name table; `EventID.noNode` when the record has no `node=`.
    public var node: Int32

    public static let noNode: Int32 = -1

    /// One word of the four (a record's identity is hashed for every event opened).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(seconds &* 1000 &+ UInt64(milliseconds) ^ serial &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: Int64(node)) << 48)
    }
}

/// What the reader needs to know about one record line before libauparse parses it.
///
/// `parse` follows libauparse 3.0.9's `extract_timestamp` and `parse_up_record`
/// byte for byte (token splitting on spaces, the 80/340-byte header window,
/// `strtoul` rules), so that a line libauparse would skip is skipped here too and
/// records regroup exactly as libauparse would group them.
struct RecordHeader {
    var seconds: UInt64
    var milliseconds: UInt32
    var serial: UInt64
    /// The `node=` value, when the line starts with one.
    var node: Range<Int>?
    /// The `type=` value, when it is the record's first field (second after `node=`).
    var typeName: Range<Int>?

    /// Parses the header of `line` (no trailing newline); nil when libauparse would skip the line.
    static func parse(_ line: UnsafeRawBufferPointer) -> RecordHeader? {
        guard let first = line.first else { return nil }
        // extract_timestamp only looks at a copy of the first 80 bytes (340 with node=).
        let window = min(line.count, first == UInt8(ascii: "n") ? 340 : 80)
        var tokens = SpaceTokens(line, end: window)
        guard let token1 = tokens.next() else { return nil }
        var node: Range<Int>?
        if line[token1.lowerBound] == UInt8(ascii: "n"), token1.count > 5 {
            node = token1.lowerBound + 5 ..< token1.upperBound
            _ = tokens.next()
        }
        guard let message = tokens.next(), message.count > 18 else { return nil }
        var open = message.lowerBound + 9
        if line[open] != UInt8(ascii: "(") {
            guard let found = message.first(where: { line[$0] == UInt8(ascii: "(") }) else { return nil }
            open = found
        }
        let stampStart = open + 1
        let stampEnd = (stampStart ..< message.upperBound).first { line[$0] == UInt8(ascii: ")") } ?? message.upperBound
        guard var header = parseTimestamp(line, stampStart ..< stampEnd) else { return nil }
        header.node = node
        header.typeName = typeField(line)
        return header
    }

    /// libauparse's `str2event`: `SEC[.MILLI][:SERIAL]` with `strtoul` semantics. The
    /// usual `DIGITS.DDD:DIGITS` is read in one pass; anything else as `strtoul` would.
    private static func parseTimestamp(_ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> RecordHeader? {
        if let header = plainTimestamp(line, range) { return header }
        return generalTimestamp(line, range)
    }

    /// `DIGITS.DIGITS:DIGITS`, each part 1 to 18 digits (no overflow possible): nil for
    /// anything else, which `generalTimestamp` reads.
    @inline(__always)
    private static func plainTimestamp(_ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> RecordHeader? {
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var index = range.lowerBound
        let end = range.upperBound
        guard let seconds = plainNumber(base, &index, end, then: UInt8(ascii: ".")),
              let milliseconds = plainNumber(base, &index, end, then: UInt8(ascii: ":")), milliseconds <= 999,
              let serial = plainNumber(base, &index, end, then: 0) else { return nil }
        return RecordHeader(seconds: seconds, milliseconds: UInt32(milliseconds), serial: serial)
    }

    /// 1 to 18 digits from `index`, then `separator` (0: the end), which is passed over;
    /// nil otherwise.
    @inline(__always)
    private static func plainNumber(_ base: UnsafePointer<UInt8>, _ index: inout Int, _ end: Int, then separator: UInt8) -> UInt64? {
        let start = index
        var value: UInt64 = 0
        while index < end, index - start < 18 {
            let digit = base[index] &- 48
            guard digit < 10 else { break }
            value = value &* 10 &+ UInt64(digit)
            index += 1
        }
        guard index > start else { return nil }
        if separator == 0 { return index == end ? value : nil }
        guard index < end, base[index] == separator else { return nil }
        index += 1
        return value
    }

    private static func generalTimestamp(_ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> RecordHeader? {
        guard let seconds = strtoul(line, from: range.lowerBound, end: range.upperBound),
              seconds <= UInt64(Int.max) - 3 // LONG_MAX - eoe_timeout - 1, with libauparse's eoe_timeout of 2
        else { return nil }
        var rest = range
        var milliseconds: UInt64 = 0
        if let dot = rest.first(where: { line[$0] == UInt8(ascii: ".") }) {
            guard let value = strtoul(line, from: dot + 1, end: rest.upperBound), value <= 999 else { return nil }
            milliseconds = value
            rest = dot + 1 ..< rest.upperBound
        }
        var serial: UInt64 = 0
        if let colon = rest.first(where: { line[$0] == UInt8(ascii: ":") }) {
            guard let value = strtoul(line, from: colon + 1, end: rest.upperBound) else { return nil }
            serial = value
        }
        return RecordHeader(seconds: seconds, milliseconds: UInt32(milliseconds), serial: serial)
    }

    /// `strtoul(s, NULL, 10)`: leading blanks, an optional sign, then digits; no digits is 0.
    /// nil on overflow (where strtoul sets ERANGE).
    @inline(__always)
    private static func strtoul(_ line: UnsafeRawBufferPointer, from start: Int, end: Int) -> UInt64? {
        var i = start
        while i < end, line[i] == UInt8(ascii: " ") || (9...13).contains(line[i]) { i += 1 }
        var negative = false
        if i < end, line[i] == UInt8(ascii: "+") || line[i] == UInt8(ascii: "-") {
            negative = line[i] == UInt8(ascii: "-")
            i += 1
        }
        var value: UInt64 = 0
        // Up to 19 digits cannot overflow: no checks needed for them.
        let safeEnd = min(end, i + 19)
        while i < safeEnd, (48...57).contains(line[i]) {
            value = value &* 10 &+ UInt64(line[i] - 48)
            i += 1
        }
        while i < end, (48...57).contains(line[i]) {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(line[i] - 48))
            if o1 || o2 { return nil }
            value = sum
            i += 1
        }
        return negative ? 0 &- value : value
    }

    /// The value of the record's `type=` field as parse_up_record finds it: the first
    /// `name=value` token (second after `node=`), with trailing `:` `,` `'` `)` removed.
    private static func typeField(_ line: UnsafeRawBufferPointer) -> Range<Int>? {
        var tokens = SpaceTokens(line, end: line.count)
        var fieldsSeen = 0
        while let token = tokens.next() {
            guard let equals = token.first(where: { line[$0] == UInt8(ascii: "=") }) else { continue }
            var nameStart = token.lowerBound
            if line.starts(at: nameStart, with: "msg=") {
                if line[nameStart + 4] == UInt8(ascii: "a") { continue }
            }
            if line[nameStart] == UInt8(ascii: "(") { nameStart += 1 }
            var value = equals + 1 ..< token.upperBound
            // `:` then `,` then `'`, each once, in that order.
            for trailing in ":,'".utf8 where value.last.map({ line[$0] == trailing }) == true {
                value = value.lowerBound ..< value.upperBound - 1
            }
            if value.isEmpty { continue }
            fieldsSeen += 1
            let name = nameStart ..< equals
            if fieldsSeen == 1, line.bytes(name, equal: "node") { continue }
            if line.bytes(name, equal: "type") {
                if line[value.upperBound - 1] == UInt8(ascii: ")") { value = value.lowerBound ..< value.upperBound - 1 }
                return value
            }
            return nil
        }
        return nil
    }
}

/// Splits a byte range on spaces, skipping empty tokens, as libaudit's `audit_strsplit` does.
struct SpaceTokens {
    private let bytes: UnsafeRawBufferPointer
    private let end: Int
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer, end: Int) {
        self.bytes = bytes
        self.end = end
    }

    mutating func next() -> Range<Int>? {
        while position < end, bytes[position] == UInt8(ascii: " ") { position += 1 }
        guard position < end, let base = bytes.baseAddress else { return nil }
        let start = position
        position = memchr(base + start, 0x20, end - start).map { base.distance(to: UnsafeRawPointer($0)) } ?? end
        return start ..< position
    }
}

extension UnsafeRawBufferPointer {
    /// Whether the bytes in `range` are exactly the ASCII text `text`.
    @inlinable @inline(__always)
    func bytes(_ range: Range<Int>, equal text: StaticString) -> Bool {
        range.count == text.utf8CodeUnitCount && matches(text, at: range.lowerBound)
    }

    /// Whether the bytes from `offset` start with the ASCII text `text`.
    @inline(__always)
    func starts(at offset: Int, with text: StaticString) -> Bool {
        offset >= 0 && offset + text.utf8CodeUnitCount <= count && matches(text, at: offset)
    }

    /// Byte by byte, first byte first: the field names compared on every record are a
    /// few bytes long and usually differ at once, where a call to memcmp costs more than
    /// the comparison.
    @inlinable @inline(__always)
    func matches(_ text: StaticString, at offset: Int) -> Bool {
        guard let start = baseAddress else { return text.utf8CodeUnitCount == 0 }
        let base = start + offset
        for index in 0 ..< text.utf8CodeUnitCount where base.load(fromByteOffset: index, as: UInt8.self) != text.utf8Start[index] {
            return false
        }
        return true
    }
}
