import FileEvents
import RuleEngine
import HostFiles

/// What only the running host can answer, handed to the detector by the plugin. Offline
/// (`replay`, `report`) there is none: the detector decides from the records alone, and
/// a file event whose directory the stream has not named yet waits for it instead.
public struct LiveHost: Sendable {
    /// The names of the entries with this inode in this directory, as the file system
    /// shows them now (io_uring logs no names; a file made is found by its inode).
    public var namesOfInode: @Sendable (_ directory: RawPath, _ inode: UInt64) -> [[UInt8]]
    /// The directories among these canonical paths, with the identity PATH records give
    /// them (a place made or replaced since start-up).
    public var directories: @Sendable (_ paths: [RawPath]) -> [(path: RawPath, key: DirectoryKey)]
    /// The names in a directory, at most `limit`, and whether there are more (the files a
    /// replaced place holds now).
    public var entries: @Sendable (_ directory: RawPath, _ limit: Int) -> (names: [[UInt8]], more: Bool)
    /// What the host says of an executable a `process.name` exclusion names: owned by an
    /// installed package in a root-only directory, or not (`BorrowedExclusionRule`).
    public var programStanding: @Sendable (_ executable: RawPath) -> ProgramStanding
    /// Now, in seconds of a monotonic clock: the alert cap's time live (setting the wall
    /// clock back must not reopen its windows).
    public var now: @Sendable () -> Double

    public init(namesOfInode: @escaping @Sendable (RawPath, UInt64) -> [[UInt8]],
                directories: @escaping @Sendable ([RawPath]) -> [(path: RawPath, key: DirectoryKey)],
                entries: @escaping @Sendable (RawPath, Int) -> (names: [[UInt8]], more: Bool),
                programStanding: @escaping @Sendable (RawPath) -> ProgramStanding,
                now: @escaping @Sendable () -> Double) {
        self.namesOfInode = namesOfInode
        self.directories = directories
        self.entries = entries
        self.programStanding = programStanding
        self.now = now
    }
}
