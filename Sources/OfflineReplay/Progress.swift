import AuditReading
import Glibc
import Outputs

/// A progress line on standard error, when it is a terminal, at most twice a second.
public struct Progress {
    private let enabled = isatty(STDERR_FILENO) == 1
    private var lastShown = timespec()
    private var shown = false
    private let totalBytes: Int64?
    private var doneBytes: Int64 = 0

    public init(inputs: [LogInput]) {
        let sizes = inputs.map(\.fileSize)
        totalBytes = sizes.contains { $0 == nil } ? nil : sizes.reduce(0) { $0 + $1! }
    }

    public mutating func show(input: LogInput, consumed: Int64, reader: AuditLogReader) {
        guard enabled else { return }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        guard now.tv_sec * 1000 + now.tv_nsec / 1_000_000 - (lastShown.tv_sec * 1000 + lastShown.tv_nsec / 1_000_000) >= 500
        else { return }
        lastShown = now
        let megabytes = (doneBytes + consumed) >> 20
        var line = "\r\u{1B}[Kaudisp-lkm: \(input.name): \(megabytes) MiB"
        if let totalBytes, totalBytes > 0 { line += " of \(totalBytes >> 20) MiB (\((doneBytes + consumed) * 100 / totalBytes)%)" }
        line += ", \(reader.statistics.records) records, \(reader.statistics.events) events"
        StandardError.write(line)
        shown = true
    }

    public mutating func finished(_ input: LogInput) { doneBytes += input.fileSize ?? 0 }

    public mutating func clear() {
        guard shown else { return }
        StandardError.write("\r\u{1B}[K")
        shown = false
    }
}
