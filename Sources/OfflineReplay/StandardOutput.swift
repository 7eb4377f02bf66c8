import Glibc
import Outputs

/// Replay's lines to standard output, through the evidence output's buffer; a write that
/// fails ends the run at once with status 2.
public struct StandardOutput {
    private let output = EvidenceOutput()

    public init() {}

    /// Appends one line (`bytes` plus a newline).
    public mutating func write(_ bytes: [UInt8]) {
        output.write(line: bytes)
        exitOnFailure()
    }

    public mutating func flush() {
        output.flush()
        exitOnFailure()
    }

    private func exitOnFailure() {
        guard let error = output.error else { return }
        StandardError.report("writing standard output: \(error)")
        Glibc.exit(2)
    }
}
