import FileEvents

/// An ECS field a rule can test, read from a file event without copying.
public enum RuleField: String, CaseIterable, Sendable {
    case hostOSType = "host.os.type"
    case hostName = "host.name"
    case eventAction = "event.action"
    case eventCategory = "event.category"
    case eventType = "event.type"
    case filePath = "file.path"
    case fileName = "file.name"
    case fileExtension = "file.extension"
    case originalPath = "file.Ext.original.path"
    case originalName = "file.Ext.original.name"
    case originalExtension = "file.Ext.original.extension"
    case processExecutable = "process.executable"
    case processName = "process.name"
    case processWorkingDirectory = "process.working_directory"
    case userID = "user.id"
    case userName = "user.name"

    private static let linux = Array("linux".utf8)
    private static let file = Array("file".utf8)
    private static let creation = Array("creation".utf8)
    private static let change = Array("change".utf8)

    /// The field's value in `event`; nil when the event does not have it (a missing field).
    func value(in event: FileEvent) -> [UInt8]? {
        switch self {
        case .hostOSType: Self.linux
        case .hostName: event.node.map { Array($0.utf8) }
        case .eventAction: Array(event.action.rawValue.utf8)
        case .eventCategory: Self.file
        case .eventType: event.action == .creation ? Self.creation : Self.change
        case .filePath: event.file.path?.bytes
        case .fileName: event.file.name
        case .fileExtension: event.file.fileExtension
        case .originalPath: event.original?.path?.bytes
        case .originalName: event.original?.name
        case .originalExtension: event.original?.fileExtension
        case .processExecutable: event.process.executable?.bytes
        case .processName: event.process.name
        case .processWorkingDirectory: event.process.workingDirectory?.bytes
        case .userID: event.user.effectiveID.map { Array(String($0).utf8) }
        case .userName: event.user.effectiveName.map { Array($0.utf8) }
        }
    }

    /// Which part of a name a field is.
    enum NamePart { case path, name, `extension` }

    /// What is unknown of a field's value (not missing: the event has it, the records do
    /// not say it).
    enum Unknown {
        /// A file's path or part of it; `directory` when that much is known.
        case file(directory: [UInt8]?, part: NamePart)
        /// The program of io_uring work no record names.
        case program
    }

    /// nil when the field's value is known, or missing.
    func unknown(in event: FileEvent) -> Unknown? {
        let file: EventFile?
        let part: NamePart
        switch self {
        case .filePath: (file, part) = (event.file, .path)
        case .fileName: (file, part) = (event.file, .name)
        case .fileExtension: (file, part) = (event.file, .extension)
        case .originalPath: (file, part) = (event.original, .path)
        case .originalName: (file, part) = (event.original, .name)
        case .originalExtension: (file, part) = (event.original, .extension)
        case .processExecutable, .processName: return event.process.executableUnknown ? .program : nil
        default: return nil
        }
        guard let file, file.isUnknown else { return nil }
        // A name logged with an unresolved directory is known; only the path is not.
        if part != .path, file.name != nil { return nil }
        return .file(directory: file.directory?.bytes, part: part)
    }
}
