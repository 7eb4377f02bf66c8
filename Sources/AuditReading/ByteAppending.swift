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

    /// The bytes that hex pairs (either case) stand for; nil when the text is not whole
    /// hex pairs.
    public init?(hexPairs text: UnsafeRawBufferPointer) {
        guard text.count % 2 == 0 else { return nil }
        var valid = true
        self.init(unsafeUninitializedCapacity: text.count / 2) { buffer, initialized in
            for index in 0 ..< text.count / 2 {
                guard let high = text[2 * index].hexDigitValue, let low = text[2 * index + 1].hexDigitValue else {
                    valid = false
                    return
                }
                buffer[index] = high << 4 | low
            }
            initialized = text.count / 2
        }
        guard valid else { return nil }
    }
}

extension UInt8 {
    /// The value of a hex digit (either case); nil for another byte.
    @inlinable
    public var hexDigitValue: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): self - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): self - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

extension String {
    /// `bytes` as lower-case hex pairs.
    public init(hexOf bytes: [UInt8]) {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes { text.appendHex(byte) }
        self.init(decoding: text, as: UTF8.self)
    }
}
