import Foundation

/// One row of a report list (timeline, mode change, violation, override),
/// kept on disk between the single pass over the history and the rendering,
/// so memory does not grow with the history.
struct AuditItem: Codable {
    var line: Int
    var time: String
    var event: String
    var actor: String
    var outcome: String?
    var message: String?
    var modeBefore: String?
    var modeAfter: String?
    var domain: String?
    var verdict: String?
    var reasons: [String]?
    var engine: String?
    var reason: String?
    var chaos: String?
    var change: String?
}

/// An append-only scratch file of `AuditItem`s as JSON lines, written through a 64 KiB buffer.
final class AuditSpill {
    let url: URL
    private let handle: FileHandle
    private var buffer = Data()
    private let encoder = JSONEncoder()
    private(set) var count = 0

    init(directory: URL, name: String) throws {
        url = directory.appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw HistoryError.cannotWriteReport(path: url.path, reason: "cannot create scratch file")
        }
        handle = try FileHandle(forWritingTo: url)
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    func append(_ item: AuditItem) throws {
        buffer.append(try encoder.encode(item))
        buffer.append(0x0A)
        count += 1
        if buffer.count >= 64 << 10 { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        try handle.close()
    }

    /// Reads the items back in order.
    func forEach(_ body: (AuditItem) throws -> Void) throws {
        let decoder = JSONDecoder()
        try HistoryLineReader.forEachLine(in: url) { bytes, _, _ in
            try body(try decoder.decode(AuditItem.self, from: Data(bytes)))
        }
    }
}

/// Buffered output for the report itself, written to a temporary file and
/// renamed into place at the end so a reader never sees half a report.
final class AuditOutput {
    private let handle: FileHandle
    private var buffer = Data()

    init(url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw HistoryError.cannotWriteReport(path: url.path, reason: "cannot create the file")
        }
        handle = try FileHandle(forWritingTo: url)
    }

    func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 256 << 10 { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        try handle.synchronize()
        try handle.close()
    }
}
