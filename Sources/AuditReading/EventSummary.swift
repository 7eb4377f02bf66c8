import Glibc

/// What to do with a complete event, decided from its `EventSummary` before libauparse
/// parses it.
public enum EventDisposition: Sendable {
    /// Parse it now (after any event held for the same process).
    case parse
    /// Count it, never parse it.
    case skip
    /// Keep it unparsed, the latest per process (node and pid); it is parsed just before
    /// the next parsed event of that process, and dropped if none comes (an exec record
    /// matters only when the process later makes a file).
    case hold
}

/// What an event's record lines say before libauparse parses them: enough to tell a
/// system call that can make a file or run a program from everything else, so that
/// libauparse's parsing is spent only where it can matter.
public struct EventSummary: Sendable {
    /// The SYSCALL record's `arch=` (AUDIT_ARCH_*), when the event has one.
    public var architecture: UInt64?
    /// The SYSCALL record's `syscall=` number.
    public var syscall: UInt64?
    /// The SYSCALL record's `success=`.
    public var success: Bool?
    /// The SYSCALL or URINGOP record's `pid=`.
    public var pid: UInt64?
    /// The URINGOP record's `uring_op=`: the event is an io_uring operation.
    public var uringOperation: UInt64?
    /// The SYSCALL or URINGOP record's `key=` value, as logged (`"audisp-lkm"`, hex for
    /// several keys); nil for none (`(null)`).
    public var key: [UInt8]?
    /// Whether the event is a change to the kernel's audit rules (CONFIG_CHANGE).
    /// The CWD record's `cwd=` value as logged (quoted or hex).
    public var cwd: [UInt8]?
    public var isConfigChange = false
    /// A CONFIG_CHANGE that switched auditing off.
    public var disablesAuditing = false
    /// Whether a PATH record names a new directory entry (`nametype=CREATE`, or
    /// `objtype=CREATE` from kernels before 3.x).
    public var hasCreatedName = false
    /// Whether a PATH record names a removed directory entry (`nametype=DELETE`).
    public var hasDeletedName = false
    /// Every PATH record's item, as logged.
    public var pathItems: [PathItem] = []
    /// Whether a PATH record had no `name=` value to read.
    public var hasUnreadableName = false

    /// What a PATH record says of its item, read without libauparse.
    public struct PathItem: Sendable {
        /// `name=` as logged (quoted, hex or `(null)`); nil when there is none to read.
        public var name: [UInt8]?
        /// `nametype=` (`objtype=` on kernels before 3.x): PARENT, CREATE, DELETE ...
        public var isParent = false
        /// `mode=` says a directory (`040...`).
        public var isDirectory = false
        /// `dev=` as logged (`fe:00`) and `inode=`: the item's identity.
        public var device: String?
        public var inode: UInt64?
    }
    /// The type of the event's first record (`DAEMON_START`, `SYSCALL`, ...).
    public var firstType: MessageType?
    /// The event's identity: its time, `SECONDS.MILLI`, serial and `node=` name (nil when
    /// absent).
    public var seconds: UInt64 = 0
    public var milliseconds: UInt32 = 0
    public var serial: UInt64 = 0
    public var node: [UInt8]?

    public init() {}

    /// Notes what the record `line` of type `type` tells.
    mutating func note(_ type: MessageType, _ line: UnsafeRawBufferPointer) {
        if firstType == nil { firstType = type }
        if type == .syscall || type == .uringOperation {
            var tokens = SpaceTokens(line, end: line.count)
            key = Self.keyValue(line)
            while let token = tokens.next(),
                  (architecture == nil || syscall == nil) && uringOperation == nil || success == nil || pid == nil {
                // Most tokens are none of these: their first byte says so.
                switch line[token.lowerBound] {
                case UInt8(ascii: "u"), UInt8(ascii: "a"), UInt8(ascii: "s"), UInt8(ascii: "p"): break
                default: continue
                }
                if line.starts(at: token.lowerBound, with: "uring_op=") {
                    uringOperation = Self.number(line, token.lowerBound + 9 ..< token.upperBound, radix: 10)
                } else if line.starts(at: token.lowerBound, with: "arch=") {
                    architecture = Self.number(line, token.lowerBound + 5 ..< token.upperBound, radix: 16)
                } else if line.starts(at: token.lowerBound, with: "syscall=") {
                    syscall = Self.number(line, token.lowerBound + 8 ..< token.upperBound, radix: 10)
                } else if line.starts(at: token.lowerBound, with: "success=") {
                    success = line.bytes(token.lowerBound + 8 ..< token.upperBound, equal: "yes")
                } else if line.starts(at: token.lowerBound, with: "pid=") {
                    pid = Self.number(line, token.lowerBound + 4 ..< token.upperBound, radix: 10)
                }
            }
        } else if type == .path {
            let item = pathItem(line)
            if item.name == nil { hasUnreadableName = true }
            pathItems.append(item)
        } else if type == .cwd {
            // `cwd=` as logged (quoted, or hex): the selection resolves relative names by it.
            if let start = line.firstIndex(of: " cwd=") {
                let valueStart = start + 5
                let end = line[valueStart...].firstIndex(where: { $0 == UInt8(ascii: " ") || $0 == 0x1D }) ?? line.count
                cwd = [UInt8](line[valueStart ..< end])
            }
        } else if type == .configChange {
            isConfigChange = true
            // `auditctl -e 0` (CONFIG_CHANGE op=set audit_enabled=0 ... res=1): the trails
            // mark the host blind from here to its next record.
            if line.contains(" audit_enabled=0 "), line.contains(" res=1") { disablesAuditing = true }
        }
    }

    /// The value of the ` key=` field, up to the next space or the ENRICHED separator.
    /// The kernel writes it last, after `subj=`, which is not escaped and may itself hold
    /// ` key=` text: the last one before the separator is the field.
    private static func keyValue(_ line: UnsafeRawBufferPointer) -> [UInt8]? {
        let recordEnd = line.firstIndex(of: "\u{1D}") ?? line.count
        // Backwards from the end: the field is last, so this reads a few bytes, where a
        // search from the start would stop at every space.
        var position = recordEnd - 5
        while position >= 0 {
            if line[position] == UInt8(ascii: " "), line.starts(at: position + 1, with: "key=") { break }
            position -= 1
        }
        guard position >= 0 else { return nil }
        let start = position + 5
        var end = start
        while end < recordEnd, line[end] != UInt8(ascii: " ") { end += 1 }
        // Most calls carry no key: no copy for them.
        if line.bytes(start ..< end, equal: "(null)") { return nil }
        return [UInt8](line[start ..< end])
    }

    /// A PATH record's fields, one pass over its tokens (up to the ENRICHED part). A
    /// name never holds a space: the kernel hex-encodes any name with a space, `"`,
    /// control or non-ASCII byte.
    private mutating func pathItem(_ line: UnsafeRawBufferPointer) -> PathItem {
        var item = PathItem()
        let end = line.firstIndex(of: "\u{1D}") ?? line.count
        var tokens = SpaceTokens(line, end: end)
        var nameTypeSeen = false
        // nametype= comes after name, inode, dev and mode: the capability fields after it
        // are not read.
        while !nameTypeSeen, let token = tokens.next() {
            let start = token.lowerBound
            if line.starts(at: start, with: "name="), token.count > 5, item.name == nil {
                item.name = [UInt8](line[start + 5 ..< token.upperBound])
            } else if line.starts(at: start, with: "inode=") {
                item.inode = Self.number(line, start + 6 ..< token.upperBound, radix: 10)
            } else if line.starts(at: start, with: "dev=") {
                item.device = String(decoding: UnsafeRawBufferPointer(rebasing: line[start + 4 ..< token.upperBound]), as: UTF8.self)
            } else if line.starts(at: start, with: "mode=") {
                item.isDirectory = line.starts(at: start + 5, with: "040")
            } else if line.starts(at: start, with: "nametype=") || line.starts(at: start, with: "objtype=") {
                let value = UnsafeRawBufferPointer(rebasing: line[(line[start] == UInt8(ascii: "n") ? start + 9 : start + 8) ..< token.upperBound])
                if value.bytes(0 ..< value.count, equal: "CREATE") { hasCreatedName = true }
                if value.bytes(0 ..< value.count, equal: "DELETE") { hasDeletedName = true }
                item.isParent = value.bytes(0 ..< value.count, equal: "PARENT")
                nameTypeSeen = true
            }
        }
        return item
    }

    private static func number(_ line: UnsafeRawBufferPointer, _ range: Range<Int>, radix: UInt64) -> UInt64? {
        guard !range.isEmpty, range.count <= 16 else { return nil }
        var value: UInt64 = 0
        for index in range {
            let byte = line[index]
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: digit = UInt64(byte - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: digit = UInt64(byte - 55)
            default: return nil
            }
            value = value &* radix &+ digit
        }
        return value
    }
}

extension UnsafeRawBufferPointer {
    /// Whether `text` occurs anywhere in the bytes.
    func contains(_ text: StaticString) -> Bool { firstIndex(of: text) != nil }

    /// The decimal value after the first `field` (such as `" items="`); nil when absent.
    func decimalField(_ field: StaticString) -> Int? {
        guard let position = firstIndex(of: field) else { return nil }
        var index = position + field.utf8CodeUnitCount
        var value = 0
        var digits = 0
        while index < count, digits < 9, (48...57).contains(self[index]) {
            value = value * 10 + Int(self[index] - 48)
            index += 1
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    /// Where `text` first occurs in the bytes.
    func firstIndex(of text: StaticString) -> Int? {
        let length = text.utf8CodeUnitCount
        guard let base = baseAddress, count >= length else { return nil }
        let first = CInt(text.utf8Start.pointee)
        var offset = 0
        while offset <= count - length, let hit = memchr(base + offset, first, count - length + 1 - offset) {
            let position = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(hit, text.utf8Start, length) == 0 { return position }
            offset = position + 1
        }
        return nil
    }
}
