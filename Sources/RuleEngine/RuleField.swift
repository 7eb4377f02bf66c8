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
    private static let rename = Array("rename".utf8)
    private static let change = Array("change".utf8)

    /// The field's value in `event`; nil when the event does not have it (a missing field).
    func value(in event: FileEvent) -> [UInt8]? {
        switch self {
        case .hostOSType: Self.linux
        case .hostName: event.node.map { Array($0.utf8) }
        case .eventAction: event.action == .creation ? Self.creation : Self.rename
        case .eventCategory: Self.file
        case .eventType: event.action == .creation ? Self.creation : Self.change
        case .filePath: event.file.path
        case .fileName: event.file.name
        case .fileExtension: event.file.fileExtension
        case .originalPath: event.original?.path
        case .originalName: event.original?.name
        case .originalExtension: event.original?.fileExtension
        case .processExecutable: event.process.executable
        case .processName: event.process.name
        case .processWorkingDirectory: event.process.workingDirectory
        case .userID: event.user.effectiveID.map { Array(String($0).utf8) }
        case .userName: event.user.effectiveName.map { Array($0.utf8) }
        }
    }

    /// Which part of a name a field is.
    enum NamePart { case path, name, `extension` }

    /// For a field of a file whose name the kernel did not log: the directory it is in
    /// and which part of the name the field is; nil when the field's value is known.
    func unknownName(in event: FileEvent) -> (directory: [UInt8], part: NamePart)? {
        let file: FilePath?
        let part: NamePart
        switch self {
        case .filePath: (file, part) = (event.file, .path)
        case .fileName: (file, part) = (event.file, .name)
        case .fileExtension: (file, part) = (event.file, .extension)
        case .originalPath: (file, part) = (event.original, .path)
        case .originalName: (file, part) = (event.original, .name)
        case .originalExtension: (file, part) = (event.original, .extension)
        default: return nil
        }
        guard let file, file.path == nil, let directory = file.directory else { return nil }
        return (directory, part)
    }
}
