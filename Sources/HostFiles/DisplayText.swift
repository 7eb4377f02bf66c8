/// Text for people from bytes that may not be UTF-8 or printable: each byte that is not
/// part of valid printable UTF-8 becomes `\xNN` (and `\` itself `\\`), so that no name can
/// forge a line or a cell and the exact bytes can be read back (`bytes(of:)`). Invisible
/// format characters (a right-to-left override, a zero-width space) and Unicode's line
/// and paragraph separators count as not printable: they would reorder or break a row.
public enum DisplayText {
    public static func of(_ bytes: [UInt8]?) -> String {
        guard let bytes else { return "-" }
        var out = ""
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") { out += "\\\\"; index += 1; continue }
            if byte >= 0x20 && byte < 0x7F { out.unicodeScalars.append(Unicode.Scalar(byte)); index += 1; continue }
            if byte >= 0xC2, let (scalar, length) = decode(bytes, at: index), scalar.value >= 0xA0,
               ![.format, .lineSeparator, .paragraphSeparator].contains(scalar.properties.generalCategory) {
                out.unicodeScalars.append(scalar)
                index += length
                continue
            }
            out += "\\x" + String(byte, radix: 16, uppercase: false).leftPadded(to: 2)
            index += 1
        }
        return out
    }

    public static func of(_ text: String?) -> String { of(text.map { Array($0.utf8) }) }

    public static func of(_ path: RawPath?) -> String { of(path?.bytes) }

    /// Text for a terminal, a CSV cell or an HTML page, whatever made it: every control
    /// character (C0, DEL, C1: a newline, ESC, BEL), invisible format character and line
    /// or paragraph separator written `\xNN` (or `\u{NNNN}`), so that no host name, user
    /// name or file name can forge a line or drive the reader's terminal. Text already
    /// made by `of` has none, and is returned as it is; a `\` is left alone.
    public static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isHidden) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if !isHidden(scalar) {
                out.unicodeScalars.append(scalar)
            } else if scalar.value < 0x100 {
                out += "\\x" + String(scalar.value, radix: 16).leftPadded(to: 2)
            } else {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return out
    }

    private static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F ... 0x9F).contains(scalar.value)
            || [.format, .lineSeparator, .paragraphSeparator].contains(scalar.properties.generalCategory)
    }

    /// The bytes a display text was made of: `\\` and `\xNN` undone (anything else after a
    /// `\`, which `of` never writes, is kept as it is).
    public static func bytes(of text: String) -> [UInt8] {
        let utf8 = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 1 < utf8.count {
                if utf8[index + 1] == UInt8(ascii: "\\") { out.append(utf8[index]); index += 2; continue }
                if utf8[index + 1] == UInt8(ascii: "x"), index + 3 < utf8.count,
                   let high = hexDigit(utf8[index + 2]), let low = hexDigit(utf8[index + 3]) {
                    out.append(high << 4 | low)
                    index += 4
                    continue
                }
            }
            out.append(utf8[index])
            index += 1
        }
        return out
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    private static func decode(_ bytes: [UInt8], at index: Int) -> (Unicode.Scalar, Int)? {
        let lead = bytes[index]
        let length = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF5 ? 4 : 0
        guard length > 0, index + length <= bytes.count else { return nil }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes[index..<(index + length)].makeIterator()
        guard case .valid(let encoded) = parser.parseScalar(from: &iterator), encoded.count == length else { return nil }
        return (Unicode.UTF8.decode(encoded), length)
    }
}
