import FileEvents
import Foundation
@testable import Outputs
import Testing
import TestSupport

@Suite("Outputs: JSON and key=value lines that no file name can break")
struct OutputTests {
    /// Every byte value, in a path-like string.
    static let everyByte: [UInt8] = Array("/etc/modprobe.d/".utf8) + (0...255).map(UInt8.init) + Array(".conf".utf8)

    @Test("JSON strings are valid for any bytes, and exact when the bytes are UTF-8")
    func jsonAnyBytes() throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("raw")
        let exact = writer.string(Self.everyByte)
        writer.member("utf8", "ü ✓ \u{1F600} \"q\" \\ \n\t")
        writer.endObject()
        #expect(!exact)
        let object = try JSONSerialization.jsonObject(with: Data(writer.bytes)) as! [String: String]
        #expect(object["utf8"] == "ü ✓ \u{1F600} \"q\" \\ \n\t")
        let raw = try #require(object["raw"])
        // ASCII survives exactly; 0x80...0xFF became U+FFFD, one each.
        #expect(raw.hasPrefix("/etc/modprobe.d/\u{0}\u{1}"))
        #expect(raw.filter { $0 == "\u{FFFD}" }.count == 128)
    }

    @Test("nested objects and arrays get their commas right")
    func jsonStructure() throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.beginObject("a"); writer.member("x", "1"); writer.member("y", number: 2); writer.endObject()
        writer.key("list"); writer.beginArray(); writer.string("p"); writer.string("q"); writer.endArray()
        writer.beginObject("empty"); writer.endObject()
        writer.key("n"); writer.number(-12)
        writer.endObject()
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"a":{"x":"1","y":2},"list":["p","q"],"empty":{},"n":-12}"#)
    }

    @Test("key=value values cannot forge a field or a line")
    func keyValueInjection() {
        var line = KeyValueLine()
        line.add("path", Array("/etc/modprobe.d/x.conf\nFAKE action=creation path=/etc/evil".utf8))
        line.add("exe", "/usr/bin/dpkg")
        line.add("name", Array("a\"b\\c\u{1B}[31m".utf8) + [0xFF])
        let text = String(decoding: line.bytes, as: UTF8.self)
        #expect(text == #"path="/etc/modprobe.d/x.conf\x0aFAKE action=creation path=/etc/evil" exe=/usr/bin/dpkg name="a\"b\\c\x1b[31m\xff""#)
        #expect(!line.bytes.contains(0x0A))
        #expect(line.bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F })
    }

    @Test("a long value is cut at 1 KiB and named in a truncated= field no value can forge")
    func truncation() {
        var line = KeyValueLine()
        let long = Array("/etc/modprobe.d/".utf8) + [UInt8](repeating: 0xFF, count: 3000)
        line.add("path", long)
        line.add("exe", "/usr/bin/cp")
        line.add("executable", String(repeating: "a", count: 1500))
        let text = line.bytes.text
        #expect(text.hasSuffix(" truncated=path,executable"))
        #expect(text.contains(" exe=/usr/bin/cp "))
        // Each cut value stays within the limit and is still a closed quoted string.
        let path = text.split(separator: " ")[0]
        #expect(path.hasPrefix("path=\"/etc/modprobe.d/\\xff") && path.hasSuffix("\""))
        #expect(path.utf8.count <= "path=".utf8.count + KeyValueLine.maximumValueLength + 2)
        // A value that fits is left whole, and a value cannot forge the marker.
        var short = KeyValueLine()
        short.add("path", "/x truncated=path")
        #expect(short.bytes.text == "path=\"/x truncated=path\"")
    }

    @Test("@timestamp is ISO 8601 UTC with milliseconds", arguments: [
        (0, 0, "1970-01-01T00:00:00.000Z"),
        (1_795_760_893, 159, "2026-11-27T06:28:13.159Z"),
        (951_782_400, 7, "2000-02-29T00:00:00.007Z"),
        (4_102_444_799, 999, "2099-12-31T23:59:59.999Z"),
    ])
    func timestamps(seconds: Int, milliseconds: Int, expected: String) {
        #expect(Timestamp.iso8601(seconds: seconds, milliseconds: milliseconds) == expected)
    }

    @Test("each kernel fixture event is one valid ECS JSON document with its fields")
    func fixtureDocuments() throws {
        let result = try replay(files: [TestData.kernelFixture("x86_64-i386.log").path])
        var writer = JSONWriter()
        for event in result.fileEvents {
            writer.reset()
            FileEventDocument.json(event, into: &writer)
            let document = try JSONSerialization.jsonObject(with: Data(writer.bytes)) as! [String: Any]
            let file = document["file"] as! [String: Any]
            let process = document["process"] as! [String: Any]
            let eventObject = document["event"] as! [String: Any]
            #expect(eventObject["action"] as? String == event.action.rawValue)
            #expect(process["name"] as? String == event.process.name.map { String(decoding: $0, as: UTF8.self) })
            #expect((document["host"] as! [String: Any])["os"] as? [String: String] == ["type": "linux"])
            if let path = event.file.path?.bytes, String(validating: path, as: UTF8.self) == nil {
                #expect(file["path_hex"] as? String == String(hexOf: path))
            } else {
                #expect(file["path"] as? String == event.file.path.map { String(decoding: $0.bytes, as: UTF8.self) })
            }
            let original = (file["Ext"] as? [String: Any])?["original"] as? [String: Any]
            #expect((original?["path"] as? String) == event.original?.path.map { String(decoding: $0.bytes, as: UTF8.self) })
        }
    }
}
