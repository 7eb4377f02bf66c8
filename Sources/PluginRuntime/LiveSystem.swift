import FileEvents
import Glibc

/// What only the live plugin can ask: the file system and /proc as they stand now. Each
/// answers at once or not at all; none waits.
public enum LiveSystem {
    /// The directories among `paths` (canonical), with the identity PATH records give
    /// them: the kernel logs `dev=` as MAJOR:MINOR in two-digit lower-case hex.
    public static func directories(_ paths: [String], usrMerge: UsrMerge) -> [(path: [UInt8], key: DirectoryKey)] {
        paths.compactMap { path in
            var status = stat()
            guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else { return nil }
            return (usrMerge.canonical(Array(path.utf8)), DirectoryKey(node: nil, device: deviceText(status.st_dev),
                                                                      inode: UInt64(status.st_ino)))
        }
    }

    /// `dev=` as the kernel logs it: glibc's major() and minor() (macros Swift cannot call).
    static func deviceText(_ device: dev_t) -> String {
        let dev = UInt64(device)
        let major = UInt32(truncatingIfNeeded: ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff))
        let minor = UInt32(truncatingIfNeeded: (dev & 0xff) | ((dev >> 12) & ~0xff))
        func hex(_ value: UInt32) -> String {
            let digits = String(value, radix: 16)
            return digits.count < 2 ? "0" + digits : digits
        }
        return "\(hex(major)):\(hex(minor))"
    }

    /// The name of the entry with inode `inode` in `directory`, if it is still there.
    /// io_uring logs no names; a file just made is found by the inode its CREATE item has.
    public static func name(in directory: [UInt8], inode: UInt64) -> [UInt8]? {
        guard let stream = String(decoding: directory, as: UTF8.self).withCString({ opendir($0) }) else { return nil }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            guard UInt64(entry.pointee.d_ino) == inode else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix { $0 != 0 })
            }
            if name != [UInt8(ascii: ".")] && name != [UInt8(ascii: "."), UInt8(ascii: ".")] { return name }
        }
        return nil
    }

    /// The program and arguments of a running process, from `/proc/PID/exe` and
    /// `/proc/PID/cmdline`; nil once it has exited.
    public static func process(_ pid: Int) -> (executable: [UInt8], arguments: [[UInt8]])? {
        var target = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/\(pid)/exe", &target, target.count - 1)
        guard length > 0 else { return nil }
        var executable = Array(target[..<length])
        // A deleted program reads as "/path (deleted)": keep the path it was run from.
        let deleted = Array(" (deleted)".utf8)
        if executable.count > deleted.count, executable.suffix(deleted.count).elementsEqual(deleted) {
            executable.removeLast(deleted.count)
        }
        var arguments: [[UInt8]] = []
        if let file = fopen("/proc/\(pid)/cmdline", "r") {
            defer { fclose(file) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = fread(&buffer, 1, buffer.count, file)
            arguments = buffer[..<count].split(separator: 0, omittingEmptySubsequences: false).map(Array.init)
            if arguments.last?.isEmpty == true { arguments.removeLast() }
        }
        return (executable, arguments)
    }
}
