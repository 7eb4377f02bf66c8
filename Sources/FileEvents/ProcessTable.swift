import HostFiles

/// Finds `process.executable` as invoked, the way Elastic Defend reports it.
///
/// The SYSCALL record's `exe=` is the image the kernel runs: for a `#!` script, the
/// interpreter. Elastic's rule excludes scripts by their own path
/// (`/var/lib/dpkg/info/kmod.postinst`), so the normaliser prefers, in order:
/// 1. the path passed to execve by the same pid, when the stream has its exec event
///    (audit-rules/ has an opt-in exec-tracking file) and that exec produced the same
///    `exe` (so a reused pid is not mistaken for the old process);
/// 2. the script named in PROCTITLE's argv[1], when `exe` is an interpreter and
///    argv[1] is not an option;
/// 3. `exe` itself.
///
/// An io_uring operation's URINGOP record names no program, and the process may be gone
/// by the time its records are read. Its executable comes from, in order: the exec
/// record as above (when the ring's `exe` does not contradict it); the SYSCALL record of
/// the `io_uring_setup` call that made the ring (audit-rules/ audits that call: rare
/// outside databases), by the process or, for a child that inherited the ring, by its
/// parent; corrected from PROCTITLE for scripts. Never `/proc/PID/exe`: the process can
/// exec an excluded program between its operation and the read. When none knows it, the
/// executable is *unknown* (`executableUnknown`): a user process made the file, the rule
/// cannot tell which.
public struct ProcessTable: Sendable {
    /// Processes remembered at most, per table (exec records, ring set-ups); a table
    /// starts over when full. Cost per event: a hash look-up or two.
    public let capacity: Int
    private var execs: [ProcessKey: Exec] = [:]
    private var rings: [ProcessKey: Ring] = [:]

    /// The number of processes remembered (exec and ring records).
    public var count: Int { execs.count + rings.count }

    private struct Ring {
        var exe: RawPath
        var proctitle: [[UInt8]]
    }

    private struct ProcessKey: Hashable {
        var node: String?
        var pid: Int
    }

    private struct Exec {
        var executable: RawPath
        var resolvedExe: RawPath?
        var arguments: [[UInt8]]
    }

    public init(capacity: Int = 1 << 16) { self.capacity = capacity }

    /// Remembers a successful execve/execveat.
    mutating func recordExec(_ event: SyscallEvent, node: String?) {
        guard event.success, let pid = event.pid, let executable = invokedPath(event) else { return }
        if execs.count >= capacity { execs.removeAll(keepingCapacity: true) }
        execs[ProcessKey(node: node, pid: pid)] = Exec(
            executable: executable, resolvedExe: event.exe,
            arguments: event.execArguments.isEmpty ? event.proctitle : event.execArguments)
    }

    /// Remembers the program of a process that made an io_uring instance.
    mutating func recordRingSetup(_ event: SyscallEvent, node: String?) {
        guard event.success, let pid = event.pid, let exe = event.exe else { return }
        if rings.count >= capacity { rings.removeAll(keepingCapacity: true) }
        rings[ProcessKey(node: node, pid: pid)] = Ring(exe: exe, proctitle: event.proctitle)
    }

    /// The process of a file event.
    func process(of event: SyscallEvent, node: String?) -> ProcessIdentity {
        var process = ProcessIdentity(executable: event.exe, executableSource: event.exe == nil ? .none : .syscallExe,
                              pid: event.pid, parentPID: event.parentPID,
                              workingDirectory: event.cwd, args: event.proctitle)
        // The parent's program, when the stream had its exec record (it may have exec'd
        // since; the record is the latest known).
        process.parentExecutable = event.parentPID.flatMap { execs[ProcessKey(node: node, pid: $0)]?.executable }
        let key = event.pid.map { ProcessKey(node: node, pid: $0) }
        var exe = event.exe
        var proctitle = event.proctitle
        if event.uringOperation != nil, let key {
            let parent = event.parentPID.map { ProcessKey(node: node, pid: $0) }
            if let ring = rings[key] ?? parent.flatMap({ rings[$0] }) {
                (exe, proctitle) = (ring.exe, ring.proctitle)
                process.executable = ring.exe
                process.executableSource = .ringSetup
                process.args = ring.proctitle
            } else if let exec = execs[key] {
                // No ring record to check the exec against: the pid's latest exec.
                exe = exec.resolvedExe
            }
            process.executableUnknown = exe == nil
        }
        guard let exe else { return process }
        if let key, let exec = execs[key], exec.resolvedExe == exe {
            process.executable = exec.executable
            process.executableSource = .execRecord
            process.args = exec.arguments
        } else if Self.isInterpreter(exe), proctitle.count >= 2, let script = proctitle.dropFirst().first,
                  !script.isEmpty, script.first != UInt8(ascii: "-") {
            process.executable = RawPath(bytes: script)
            process.executableSource = .scriptArgument
        }
        return process
    }

    /// The path given to exec (`bprm->filename`): PATH item 0, relative names kept.
    /// execveat on a descriptor is `/dev/fd/N` (or `/dev/fd/N/name`), as the kernel names it.
    private func invokedPath(_ event: SyscallEvent) -> RawPath? {
        let first = event.paths.first { $0.index == 0 } ?? event.paths.first
        let name = first?.name ?? RawPath(bytes: [])
        if event.syscall == .execveat, let descriptor = event.directoryDescriptor(argument: 0), !name.isAbsolute {
            let base = RawPath("/dev/fd/\(descriptor)")
            return name.isEmpty ? base : base + "/" + name
        }
        return name.isEmpty ? nil : name
    }

    /// Interpreters that run a script named by their first argument.
    static func isInterpreter(_ exe: RawPath) -> Bool {
        let name = String(decoding: exe.lastComponent, as: UTF8.self)
        if ["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox", "fish", "csh", "tcsh", "node", "nodejs"]
            .contains(name) { return true }
        return ["python", "perl", "ruby", "php", "lua", "tclsh", "wish"].contains { name.hasPrefix($0) }
    }
}
