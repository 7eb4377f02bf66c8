import AuditReading

/// Decoding of the kernel's untrusted-string encoding (`audit_log_untrustedstring`).
///
/// A value the kernel considers safe is printed in double quotes; one containing a
/// space, `"`, a control byte or a byte above 0x7E is printed as unquoted hex; a
/// missing string is the literal `(null)`.
enum AuditValue {
    /// The bytes of an encoded string value; nil for `(null)`, `(none)` or malformed hex.
    static func decode(_ text: FieldText) -> [UInt8]? {
        decode(text.bytes)
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        let count = bytes.count
        if count >= 2, bytes[0] == UInt8(ascii: "\""), bytes[count - 1] == UInt8(ascii: "\"") {
            return [UInt8](bytes[1 ..< count - 1])
        }
        if count == 6, bytes[0] == UInt8(ascii: "("), bytes[5] == UInt8(ascii: ")") { return nil }
        return decodeHex(bytes)
    }

    /// A PROCTITLE value's arguments (NUL-separated in the record; a final empty one, from
    /// a trailing NUL, dropped); nil when the value does not decode.
    static func arguments(ofProctitle text: FieldText) -> [[UInt8]]? {
        guard let title = decode(text) else { return nil }
        var arguments: [[UInt8]] = []
        var start = 0
        while let end = title[start...].firstIndex(of: 0) {
            arguments.append(Array(title[start ..< end]))
            start = end + 1
        }
        if start < title.count { arguments.append(start == 0 ? title : Array(title[start...])) }
        return arguments
    }

    /// Hex pairs to bytes; nil when the text is not whole hex pairs.
    static func decodeHex(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? { [UInt8](hexPairs: bytes) }

    /// A decimal field (`pid=1234`); nil when not a number.
    static func decimal(_ text: FieldText) -> UInt64? {
        var value: UInt64 = 0
        guard !text.bytes.isEmpty else { return nil }
        for byte in text.bytes {
            guard (48...57).contains(byte) else { return nil }
            let (product, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = product.addingReportingOverflow(UInt64(byte - 48))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }

    /// A signed decimal field (`exit=-2`); nil when not a number.
    static func signedDecimal(_ text: FieldText) -> Int64? {
        guard let first = text.bytes.first else { return nil }
        if first == UInt8(ascii: "-") {
            let magnitude = decimal(FieldText(bytes: UnsafeRawBufferPointer(rebasing: text.bytes.dropFirst())))
            return magnitude.flatMap { $0 <= UInt64(Int64.max) ? -Int64($0) : nil }
        }
        return decimal(text).flatMap { $0 <= UInt64(Int64.max) ? Int64($0) : nil }
    }

    /// A hexadecimal field (`arch=c000003e`, `a0=ffffff9c`); nil when not hex.
    static func hexadecimal(_ text: FieldText) -> UInt64? {
        var value: UInt64 = 0
        guard !text.bytes.isEmpty, text.bytes.count <= 16 else { return nil }
        for byte in text.bytes {
            guard let digit = byte.hexDigitValue else { return nil }
            value = value << 4 | UInt64(digit)
        }
        return value
    }

    /// An octal field (`mode=0100644`); nil when not octal.
    static func octal(_ text: FieldText) -> UInt32? {
        var value: UInt32 = 0
        guard !text.bytes.isEmpty, text.bytes.count <= 11 else { return nil }
        for byte in text.bytes {
            guard (48...55).contains(byte) else { return nil }
            value = value << 3 | UInt32(byte - 48)
        }
        return value
    }
}
