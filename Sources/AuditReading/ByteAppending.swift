/// Number formatting straight into byte buffers, for the hot output paths (EOE records,
/// JSON, key=value lines), without going through `String`.
extension Array where Element == UInt8 {
    /// Appends the decimal digits of `value`.
    public mutating func appendDecimal(_ value: UInt64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        var rest = value
        Swift.withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[23 - count] = UInt8(truncatingIfNeeded: 48 + rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            append(contentsOf: buffer[(24 - count)...])
        }
    }

    /// Appends `byte` as two lower-case hex digits.
    public mutating func appendHex(_ byte: UInt8) {
        append(hexDigits[Int(byte >> 4)])
        append(hexDigits[Int(byte & 0xF)])
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
