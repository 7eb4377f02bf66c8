@testable import AuditReading
import CAudit
import Testing

@Suite("Record type names")
struct MessageTypeTableTests {
    /// Every name libaudit knows, the same name again (remembered), names that differ by
    /// a byte, and garbage: each answered as libaudit answers it, however many are known.
    @Test("the table answers as libaudit does, remembered or not")
    func sameAsLibaudit() {
        var table = MessageTypeTable()
        var names = (1000 ... 2999).compactMap { number in audit_msg_type_to_name(Int32(number)).map { String(cString: $0) } }
        names += ["SYSCALL", "SYSCAL", "SYSCALLS", "syscall", "UNKNOWN[1334]", "NOPE", "X", ""]
        #expect(names.count > 150)
        for _ in 0 ..< 2 {
            for name in names {
                let line = Array("type=\(name) msg=audit(1.000:1): x=1".utf8)
                let expected = name.withCString { audit_name_to_msg_type($0) }
                let found = line.withUnsafeBytes { table.type(in: $0, 5 ..< 5 + name.utf8.count) }
                #expect(found.rawValue == expected, "\(name)")
            }
        }
    }
}
