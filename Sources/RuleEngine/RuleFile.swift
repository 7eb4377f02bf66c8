import Glibc

extension DetectionRule {
    /// The largest rule file accepted; Elastic's rule files are a few kilobytes.
    public static let maximumFileSize = 1 << 22

    /// Loads a rule from a detection-rules TOML file. Errors name the file.
    public init(contentsOf path: String) throws(RuleError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RuleError(message: "\(path): \(String(cString: strerror(errno)))", position: nil) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw RuleError(message: "\(path): \(String(cString: strerror(errno)))", position: nil) }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= Self.maximumFileSize else {
                throw RuleError(message: "\(path): too large for a rule file", position: nil)
            }
        }
        do { try self.init(toml: String(decoding: bytes, as: UTF8.self)) } catch {
            throw RuleError(message: "\(path): \(error.message)", position: error.position)
        }
    }
}
