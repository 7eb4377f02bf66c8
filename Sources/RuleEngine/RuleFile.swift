import AuditReading

extension DetectionRule {
    /// The largest rule file accepted; Elastic's rule files are a few kilobytes.
    public static let maximumFileSize = 1 << 22

    /// Loads a rule from a detection-rules TOML file. Errors name the file.
    public init(contentsOf path: String) throws(RuleError) {
        let bytes: [UInt8]
        do { bytes = try LogInput(path: path).readAll(limit: Self.maximumFileSize) } catch {
            throw RuleError(message: error.description, position: nil)
        }
        do { try self.init(toml: String(decoding: bytes, as: UTF8.self)) } catch {
            throw RuleError(message: "\(path): \(error.message)", position: error.position)
        }
    }
}
