import Glibc

/// Runs a program (no shell) and returns its standard output, or nil when it cannot be
/// started. Standard error goes to /dev/null; the exit status is returned beside.
public func runProgram(_ path: String, _ arguments: [String]) -> (output: [UInt8], status: Int32)? {
    runProgram(path, arguments.map { RawPath($0) })
}

/// `runProgram` with arguments as bytes (paths that need not be UTF-8).
public func runProgram(_ path: String, _ arguments: [RawPath]) -> (output: [UInt8], status: Int32)? {
    guard RawPath(path).isAccessible(X_OK) else { return nil }
    var pipe: [Int32] = [0, 0]
    guard Glibc.pipe(&pipe) == 0 else { return nil }
    _ = fcntl(pipe[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(pipe[1], F_SETFD, FD_CLOEXEC)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv: [UnsafeMutablePointer<CChar>?] = ([RawPath(path)] + arguments).map { $0.withCString { strdup($0) } } + [nil]
    defer { argv.forEach { free($0) } }
    // A fixed environment: output in the C locale, whatever the caller's.
    let settings: [String] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]
    let environment: [UnsafeMutablePointer<CChar>?] = settings.map { strdup($0) } + [nil]
    defer { environment.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, path, &actions, nil, argv, environment)
    close(pipe[1])
    guard spawned == 0 else { close(pipe[0]); return nil }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = Glibc.read(pipe[0], &chunk, chunk.count)
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { break }
        output += chunk[..<count]
    }
    close(pipe[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return (output, (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F))
}
