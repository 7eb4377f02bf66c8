import AuditReading
import HostFiles

/// Writes one JSON document straight into bytes, with no intermediate values.
///
/// Strings are byte strings: valid UTF-8 is copied, JSON's specials and control bytes
/// are escaped, and each byte that is not part of valid UTF-8 becomes U+FFFD, so the
/// output is valid JSON whatever a file name contains. `string(_:)` says when that
/// happened, so callers can add the exact bytes in hex.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// One bit per open object or array: whether it already has a member.
    private var hasMember: UInt64 = 0
    private var depth = 0

    public init() { bytes.reserveCapacity(1024) }

    /// Members the same in many documents (a rule's), by key: written once, then copied.
    private var repeated: [String: [UInt8]] = [:]

    /// Writes the members `write` writes into the current object, from a copy made the
    /// first time `key` was seen (a rule's members are the same in every alert, and
    /// writing them anew cost as much as the rest of the alert).
    public mutating func repeatedMembers(key: String, _ write: (inout JSONWriter) -> Void) {
        if repeated[key] == nil {
            var fragment = JSONWriter()
            fragment.beginObject()
            write(&fragment)
            fragment.endObject()
            // At most a few rules are in use at once; a reload makes a new formatter.
            if repeated.count >= 16 { repeated.removeAll() }
            repeated[key] = Array(fragment.bytes.dropFirst().dropLast())
        }
        guard let members = repeated[key], !members.isEmpty else { return }
        separate()
        bytes.append(contentsOf: members)
    }

    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        hasMember = 0
        depth = 0
    }

    public mutating func beginObject() { open(UInt8(ascii: "{")) }
    public mutating func endObject() { close(UInt8(ascii: "}")) }
    public mutating func beginArray() { open(UInt8(ascii: "[")) }
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    /// Starts a member `"name":` of the current object (names are trusted ASCII).
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        markValuePending()
    }

    /// Starts a nested object member: `"name":{`.
    public mutating func beginObject(_ name: StaticString) {
        key(name)
        beginObject()
    }

    /// Writes a string value; returns false when invalid UTF-8 was replaced.
    @discardableResult
    public mutating func string<Bytes: Collection<UInt8>>(_ value: Bytes) -> Bool {
        separate()
        bytes.append(UInt8(ascii: "\""))
        let exact = appendEscaped(value)
        bytes.append(UInt8(ascii: "\""))
        return exact
    }

    public mutating func string(_ value: String) { string(value.utf8) }

    @discardableResult
    public mutating func string(_ value: RawPath) -> Bool { string(value.bytes) }

    public mutating func number<Number: BinaryInteger>(_ value: Number) {
        separate()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        bytes.appendDecimal(UInt64(value.magnitude))
    }

    /// Writes a JSON string holding the decimal digits of `value` (ECS keeps ids as keywords).
    public mutating func decimalString<Number: BinaryInteger>(_ value: Number) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        bytes.appendDecimal(UInt64(value.magnitude))
        bytes.append(UInt8(ascii: "\""))
    }

    /// Adds `"name":"<decimal>"` when `value` is not nil.
    public mutating func member<Number: BinaryInteger>(_ name: StaticString, decimalString value: Number?) {
        guard let value else { return }
        key(name)
        decimalString(value)
    }

    /// Appends raw ASCII produced by the caller (digits, fixed formats) as a string value.
    public mutating func asciiString(_ write: (inout [UInt8]) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        write(&bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Adds `"name":"value"` when `value` is not nil.
    public mutating func member<Bytes: Collection<UInt8>>(_ name: StaticString, _ value: Bytes?) {
        guard let value else { return }
        key(name)
        string(value)
    }

    public mutating func member(_ name: StaticString, _ value: String?) { member(name, value?.utf8) }

    public mutating func member(_ name: StaticString, _ value: RawPath?) { member(name, value?.bytes) }

    /// `"name":true` or `"name":false`.
    public mutating func member(_ name: StaticString, bool value: Bool) {
        key(name)
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// Adds `"name":true` when `flag` is set (absent otherwise, as ECS omits false flags).
    public mutating func member(_ name: StaticString, flag: Bool) {
        guard flag else { return }
        member(name, bool: true)
    }

    public mutating func member<Number: BinaryInteger>(_ name: StaticString, number value: Number?) {
        guard let value else { return }
        key(name)
        number(value)
    }

    // MARK: - Structure

    /// A value follows a key: the next `separate()` must not write a comma.
    private var valuePending = false

    private mutating func markValuePending() { valuePending = true }

    private mutating func separate() {
        if valuePending {
            valuePending = false
            return
        }
        guard depth > 0 else { return }
        let bit: UInt64 = 1 << UInt64(depth - 1)
        if hasMember & bit != 0 { bytes.append(UInt8(ascii: ",")) }
        hasMember |= bit
    }

    private mutating func open(_ bracket: UInt8) {
        separate()
        bytes.append(bracket)
        precondition(depth < 64, "JSON nested too deeply")
        depth += 1
        hasMember &= ~(1 << UInt64(depth - 1))
    }

    private mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        depth -= 1
    }

    // MARK: - Escaping

    /// Bytes that cannot appear raw inside a JSON string, or that start a multi-byte
    /// sequence needing validation: everything below 0x20, `"`, `\\`, 0x7F and 0x80...0xFF.
    private static let plain: [Bool] = (0...255).map { byte in
        byte >= 0x20 && byte < 0x7F && byte != 0x22 && byte != 0x5C
    }

    /// Appends `value` escaped for a JSON string; false when bytes were replaced.
    private mutating func appendEscaped<Bytes: Collection<UInt8>>(_ value: Bytes) -> Bool {
        if let exact = value.withContiguousStorageIfAvailable({ appendEscaped(contiguous: $0) }) { return exact }
        return Array(value).withUnsafeBufferPointer { appendEscaped(contiguous: $0) }
    }

    private mutating func appendEscaped(contiguous value: UnsafeBufferPointer<UInt8>) -> Bool {
        var exact = true
        var index = 0
        let count = value.count
        let plain = Self.plain
        while index < count {
            // Copy the longest run of plain ASCII at once.
            var end = index
            while end < count && plain[Int(value[end])] { end += 1 }
            if end > index {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: value[index..<end]))
                index = end
                if index == count { break }
            }
            let byte = value[index]
            if byte < 0x80 {
                switch byte {
                case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                default:
                    bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
                    bytes.appendHex(byte)
                }
                index += 1
                continue
            }
            let length = Self.validSequenceLength(value, at: index)
            if length == 0 {
                bytes.append(contentsOf: [0xEF, 0xBF, 0xBD]) // U+FFFD
                exact = false
                index += 1
            } else {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: value[index..<index + length]))
                index += length
            }
        }
        return exact
    }

    /// The length of the well-formed UTF-8 sequence starting at `index` (RFC 3629 table),
    /// or 0 when it is not one.
    private static func validSequenceLength(_ value: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let lead = value[index]
        let length: Int
        var lowest: UInt8 = 0x80, highest: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lowest = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; highest = 0x9F
        case 0xF0: length = 4; lowest = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; highest = 0x8F
        default: return 0
        }
        for offset in 1..<length {
            guard index + offset < value.count else { return 0 }
            let byte = value[index + offset]
            let (low, high) = offset == 1 ? (lowest, highest) : (UInt8(0x80), UInt8(0xBF))
            guard byte >= low && byte <= high else { return 0 }
        }
        return length
    }
}
