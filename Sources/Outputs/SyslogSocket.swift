import Glibc

/// A datagram connection to the local syslog daemon, speaking what glibc's syslog(3)
/// sends: one datagram per message, `<PRI>Mmm dd hh:mm:ss ident[pid]: message`.
///
/// syslog(3) itself cannot be used: it reports no error when no daemon listens (the
/// message is lost) and blocks when the daemon stops reading. Here both are errors the
/// caller sees (ENOENT or ECONNREFUSED; EAGAIN), so it can count, keep and retry.
public final class SyslogSocket {
    public let path: String
    private var descriptor: CInt = -1
    private var datagram: [UInt8] = []

    public init(path: String = "/dev/log") { self.path = path }

    deinit { disconnect() }

    /// Sends `message` without waiting. On EAGAIN the daemon is not reading; on any
    /// other error the connection is dropped and the next call connects again.
    public func send(_ message: [UInt8], priority: CInt, ident: String) throws(OutputError) {
        try connect()
        datagram.removeAll(keepingCapacity: true)
        datagram.append(UInt8(ascii: "<"))
        datagram.appendDecimal(UInt64(priority))
        datagram.append(UInt8(ascii: ">"))
        Self.appendTimestamp(to: &datagram)
        datagram.append(contentsOf: ident.utf8)
        datagram.append(UInt8(ascii: "["))
        datagram.appendDecimal(UInt64(getpid()))
        datagram.append(contentsOf: "]: ".utf8)
        datagram.append(contentsOf: message)
        let sent = datagram.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, CInt(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        guard sent < 0 else { return }
        let error = OutputError("send to \(path)")
        if error.code != EAGAIN { disconnect() }
        throw error
    }

    public func disconnect() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    /// Connects unless connected: fails with ENOENT when no socket is there and with
    /// ECONNREFUSED when the daemon that made it is gone.
    public func connect() throws(OutputError) {
        guard descriptor < 0 else { return }
        let fd = socket(AF_UNIX, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw OutputError("socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            close(fd)
            throw OutputError("connect \(path)", code: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8) }
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard status == 0 else {
            let error = OutputError("connect \(path)")
            close(fd)
            throw error
        }
        descriptor = fd
    }

    /// `Nov 27 07:25:27 ` in local time, as syslog(3) writes it.
    private static func appendTimestamp(to bytes: inout [UInt8]) {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%b %e %T ", &parts)
        bytes.append(contentsOf: buffer[..<count].map { UInt8(bitPattern: $0) })
    }
}
