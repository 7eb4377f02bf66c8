import AuditReading
import Outputs

/// The inputs of `replay` and `report`: opened in rotation order, read with progress.
public enum ReplayInputs {
    /// Opens `files` (none: standard input), a rotation set oldest first.
    public static func open(_ files: [String]) throws(LogInputError) -> [LogInput] {
        var inputs: [LogInput] = []
        for path in RotationOrder.sorted(files.isEmpty ? ["-"] : files) { inputs.append(try LogInput(path: path)) }
        return inputs
    }

    /// Reads every input through `reader`, showing progress on a terminal. An input that
    /// fails is reported on standard error and the others are still read; false then.
    /// Output of `ausearch -i` is refused at once (it cannot be replayed faithfully): the
    /// one error thrown.
    public static func read(_ inputs: [LogInput], with reader: AuditLogReader) throws(ReplayInputError) -> Bool {
        var progress = Progress(inputs: inputs)
        var complete = true
        for input in inputs {
            do {
                try reader.read(input) { consumed in progress.show(input: input, consumed: consumed, reader: reader) }
            } catch {
                if case .interpreted = error { throw error }
                complete = false
                progress.clear()
                StandardError.report(error.description)
            }
            progress.finished(input)
        }
        progress.clear()
        return complete
    }
}

/// Puts a rotation set (`audit.log`, `audit.log.1`, `audit.log.2.gz` ...) oldest first;
/// other names keep the order given.
public enum RotationOrder {
    public static func sorted(_ paths: [String]) -> [String] {
        // (base name, generation): audit.log is generation 0, audit.log.3.gz generation 3.
        func rotation(_ path: String) -> (String, Int)? {
            var name = Substring(path)
            if name.hasSuffix(".gz") { name = name.dropLast(3) }
            guard let dot = name.lastIndex(of: "."), let generation = Int(name[name.index(after: dot)...]),
                  generation >= 0 else { return (String(name), 0) }
            return (String(name[..<dot]), generation)
        }
        let keyed = paths.enumerated().map { (offset: $0.offset, path: $0.element, rotation: rotation($0.element)) }
        return keyed.sorted { a, b in
            guard let ra = a.rotation, let rb = b.rotation, ra.0 == rb.0 else { return a.offset < b.offset }
            return ra.1 != rb.1 ? ra.1 > rb.1 : a.offset < b.offset
        }.map(\.path)
    }
}
