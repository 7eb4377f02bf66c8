import AuditReading
import FileEvents
import HostFiles

/// One line of `key=value` pairs that no value can break or forge.
///
/// A value made only of `[A-Za-z0-9/._:+,@%~-]` is written bare; any other is quoted,
/// with `"` and `\` escaped and every byte outside printable ASCII written as `\xHH`.
/// So a file name holding a newline, an escape sequence or ` key=value` text stays
/// inside its own value.
///
/// A value is cut after `maximumValueLength` written bytes, and the line then ends with
/// `truncated=KEY,...`: a field of its own, so no value can forge the marker. With the
/// few user-controlled values an alert has, a line stays under rsyslog's default 8 KiB.
public struct KeyValueLine {
    public static let maximumValueLength = 1024

    private var content: [UInt8] = []
    private var truncatedKeys: [UInt8] = []

    /// The line, without a newline.
    public var bytes: [UInt8] {
        truncatedKeys.isEmpty ? content : content + Array(" truncated=".utf8) + truncatedKeys
    }

    public init() {}

    public mutating func reset() {
        content.removeAll(keepingCapacity: true)
        truncatedKeys.removeAll()
    }

    public mutating func add<Bytes: Collection<UInt8>>(_ key: StaticString, _ value: Bytes?) {
        guard let value else { return }
        let keyBytes = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        if !content.isEmpty { content.append(UInt8(ascii: " ")) }
        content.append(contentsOf: keyBytes)
        content.append(UInt8(ascii: "="))
        if !value.isEmpty && value.count <= Self.maximumValueLength && value.allSatisfy(Self.isBare) {
            content.append(contentsOf: value)
            return
        }
        content.append(UInt8(ascii: "\""))
        let limit = content.count + Self.maximumValueLength
        for byte in value {
            // The longest escape is 4 bytes (\xHH): stop before one would pass the limit.
            if content.count + 4 > limit {
                if !truncatedKeys.isEmpty { truncatedKeys.append(UInt8(ascii: ",")) }
                truncatedKeys.append(contentsOf: keyBytes)
                break
            }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                content.append(UInt8(ascii: "\\"))
                content.append(byte)
            case 0x20...0x7E:
                content.append(byte)
            default:
                content.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x")])
                content.appendHex(byte)
            }
        }
        content.append(UInt8(ascii: "\""))
    }

    public mutating func add(_ key: StaticString, _ value: String?) { add(key, value?.utf8) }

    public mutating func add(_ key: StaticString, _ value: RawPath?) { add(key, value?.bytes) }

    public mutating func add<Number: BinaryInteger>(_ key: StaticString, number value: Number?) {
        add(key, value.map { String($0) })
    }

    private static func isBare(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "/"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "+"),
             UInt8(ascii: ","), UInt8(ascii: "@"), UInt8(ascii: "%"), UInt8(ascii: "~"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}

extension FileEvent {
    /// The event as one `key=value` line (`replay --events --format text`).
    public func keyValueLine(into line: inout KeyValueLine) {
        line.add("event_id", eventID)
        line.add("node", node)
        line.add("action", action.rawValue)
        line.add("path", file.path)
        line.add("unresolved", file.unresolvedReason)
        line.add("directory", file.path == nil ? file.directory : nil)
        for candidate in file.candidatePaths { line.add("candidate_path", candidate) }
        line.add("alternative_path", file.alternativePath)
        line.add("spelled_path", file.spelledPath)
        line.add("logged_name", file.path == nil ? file.loggedName : nil)
        line.add("original_path", original?.path)
        line.add("executable", process.executable)
        line.add("executable_source", process.executableSource.rawValue)
        line.add("pid", number: process.pid)
        line.add("ppid", number: process.parentPID)
        line.add("uid", number: user.effectiveID)
        line.add("auid", number: user.auditID)
        line.add("auid_name", user.auditName)
        line.add("syscall", audit.syscall.rawValue)
        line.add("arch", audit.architecture?.name)
        line.add("uring_op", number: audit.uringOperation)
        line.add("exe", audit.exe)
        line.add("key", audit.key)
        line.add("sha256_before", contentDigests?.before.map { String(hexOf: $0) })
        line.add("sha256_after", contentDigests?.after.map { String(hexOf: $0) })
    }
}
