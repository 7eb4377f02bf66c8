import AuditReading
import FileEvents
import HostFiles

/// ECS fields of a file event, as Elastic Defend names them.
public enum FileEventDocument {
    /// Writes one file event as a whole JSON document (`replay --events --format json`).
    public static func json(_ event: FileEvent, into writer: inout JSONWriter) {
        writer.beginObject()
        writeMembers(of: event, kind: "event", into: &writer)
        writer.endObject()
    }

    /// Writes the event's members into an object already begun (alerts add `rule.*`);
    /// `kind` is ECS `event.kind`: `event`, or `alert`.
    public static func writeMembers(of event: FileEvent, kind: String, into writer: inout JSONWriter) {
        writer.key("@timestamp")
        writer.asciiString { Timestamp.appendISO8601(seconds: event.seconds, milliseconds: event.milliseconds, to: &$0) }

        writeEvent(kind: kind, category: "file", type: event.action.ecsType,
                   action: event.action.rawValue, id: event.appendEventID, host: event.node, into: &writer)

        writer.beginObject("file")
        writePath(event.file, into: &writer)
        writer.member("inode", decimalString: event.file.inode)
        writer.member("device", event.file.device)
        writer.member("mode", event.file.mode.map { String($0 & 0o7777, radix: 8) })
        writer.beginObject("Ext")
        if let original = event.original {
            writer.beginObject("original")
            writePath(original, into: &writer)
            writeResolution(original, into: &writer)
            writer.endObject()
        }
        writeResolution(event.file, into: &writer)
        if let digests = event.contentDigests { writer.member("sha256_before", digests.before.map { String(hexOf: $0) }) }
        writer.endObject()
        if let after = event.contentDigests?.after {
            writer.beginObject("hash"); writer.member("sha256", String(hexOf: after)); writer.endObject()
        }
        writer.endObject()

        let process = event.process
        writer.beginObject("process")
        writer.member("executable", process.executable)
        writer.member("name", process.name)
        writer.member("pid", number: process.pid)
        if let parent = process.parentPID {
            writer.beginObject("parent")
            writer.member("pid", number: parent)
            writer.member("executable", process.parentExecutable)
            writer.endObject()
        }
        writer.member("working_directory", process.workingDirectory)
        writer.key("args"); writer.beginArray()
        for argument in process.args { writer.string(argument) }
        writer.endArray()
        writer.beginObject("Ext")
        writer.member("executable_source", process.executableSource.rawValue)
        writer.member("executable_unknown", flag: process.executableUnknown)
        writer.endObject()
        writer.endObject()

        let user = event.user
        writer.beginObject("user")
        writer.member("id", decimalString: user.effectiveID)
        writer.member("name", user.effectiveName)
        writer.beginObject("Ext")
        writer.beginObject("real"); writer.member("id", decimalString: user.realID); writer.member("name", user.realName); writer.endObject()
        writer.endObject()
        writer.beginObject("audit"); writer.member("id", decimalString: user.auditID); writer.member("name", user.auditName); writer.endObject()
        writer.endObject()

        let audit = event.audit
        writer.beginObject("auditd")
        writer.member("syscall", audit.syscall.rawValue)
        writer.member("syscall_number", number: audit.syscallNumber)
        writer.member("arch", audit.architecture?.name)
        writer.member("uring_op", number: audit.uringOperation)
        writer.member("exe", audit.exe)
        writer.member("comm", audit.comm)
        writer.member("key", audit.key)
        writer.member("tty", audit.tty)
        writer.member("session", decimalString: user.session)
        writer.member("exit", number: audit.exitCode)
        writer.member("items", number: audit.items)
        writer.member("gid", decimalString: audit.gid)
        writer.member("egid", decimalString: audit.effectiveGID)
        writer.endObject()
    }

    /// `event.*` and `host.*`, which every document has.
    static func writeEvent(kind: String, category: String, type: String, action: String,
                           id appendID: (inout [UInt8]) -> Void, host: String?, into writer: inout JSONWriter) {
        writer.beginObject("event")
        writer.member("kind", kind)
        writer.key("category"); writer.beginArray(); writer.string(category); writer.endArray()
        writer.key("type"); writer.beginArray(); writer.string(type); writer.endArray()
        writer.member("action", action)
        writer.key("id")
        writer.asciiString { appendID(&$0) }
        writer.member("outcome", "success")
        writer.endObject()
        writer.beginObject("host")
        writer.member("name", host)
        writer.beginObject("os"); writer.member("type", "linux"); writer.endObject()
        writer.endObject()
    }

    /// `path`, `name`, `extension`.
    private static func writePath(_ file: EventFile, into writer: inout JSONWriter) {
        if let path = file.path { writePathMember(path, into: &writer) }
        writer.member("name", file.name)
        writer.member("extension", file.fileExtension)
    }

    /// `path`; when it is not valid UTF-8, its exact bytes are added in hex as `path_hex`,
    /// since JSON text cannot carry them.
    static func writePathMember(_ path: RawPath, into writer: inout JSONWriter) {
        writer.key("path")
        if !writer.string(path) { writer.member("path_hex", String(hexOf: path.bytes)) }
    }

    /// For an unresolved path: why, and the name as the kernel logged it; for a path that
    /// rests on the kernel's order of two same-text PARENT items, the other reading.
    private static func writeResolution(_ file: EventFile, into writer: inout JSONWriter) {
        writer.member("alternative_path", file.alternativePath)
        writer.member("spelled_path", file.spelledPath)
        writer.member("name_found_by_inode", flag: file.nameRecovered)
        guard let reason = file.unresolvedReason else { return }
        writer.beginObject("unresolved")
        writer.member("reason", reason)
        writer.member("logged_name", file.loggedName)
        writer.member("directory", file.directory)
        writer.member("watched", flag: file.watchedButUnknown)
        if !file.candidatePaths.isEmpty {
            writer.key("candidate_paths")
            writer.beginArray()
            // A path that is not UTF-8 is given in hex, as `path_hex` is.
            for path in file.candidatePaths {
                if !writer.string(path) { writer.string(String(hexOf: path.bytes)) }
            }
            writer.endArray()
        }
        writer.endObject()
    }

}

extension FileEvent.Action {
    /// ECS `event.type`.
    var ecsType: String {
        switch self {
        case .creation: "creation"
        case .deletion: "deletion"
        case .rename, .directoryReplacement, .modification, .attributes: "change"
        }
    }
}
