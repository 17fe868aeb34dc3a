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

extension AuditItem {
    /// The item as `JSONEncoder` writes it with `[.sortedKeys, .withoutEscapingSlashes]` (the report's own encoder),
    /// byte for byte, without it: keys in byte order, absent values left out, strings escaped as JSONEncoder escapes
    /// them (`\"`, `\\`, `\b \f \n \r \t`, other controls as `\u00xx`, everything else as is).
    /// `AuditItemEncodingTests` holds the two against each other.
    func appendJSON(to out: inout [UInt8]) {
        var first = true
        func key(_ name: StaticString) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(UInt8(ascii: "\""))
            out.append(UInt8(ascii: ":"))
        }
        func field(_ name: StaticString, _ value: String?) {
            guard let value else { return }
            key(name)
            Self.appendString(value, to: &out)
        }
        field("actor", actor)
        field("change", change)
        field("chaos", chaos)
        field("domain", domain)
        field("engine", engine)
        field("event", event)
        key("line")
        out.append(contentsOf: String(line).utf8)
        field("message", message)
        field("modeAfter", modeAfter)
        field("modeBefore", modeBefore)
        field("outcome", outcome)
        field("reason", reason)
        if let reasons {
            key("reasons")
            out.append(UInt8(ascii: "["))
            for (index, reason) in reasons.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.appendString(reason, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        field("time", time)
        field("verdict", verdict)
        out.append(UInt8(ascii: "}"))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            // Runs of bytes written as they are go in one append; only the bytes JSONEncoder escapes go one by one.
            var start = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                appendEscaped(byte, to: &out)
                start = index + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<bytes.count]))
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `byte` (a quote, a backslash or a control byte) as JSONEncoder escapes it.
    private static func appendEscaped(_ byte: UInt8, to out: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
        case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
        case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
        case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        default:
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        }
    }
}

/// An append-only scratch file of `AuditItem`s as JSON lines, written through a 64 KiB buffer. Each line is the item
/// exactly as the JSON report writes it, so that report copies the lines as they are.
final class AuditSpill {
    let url: URL
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private(set) var count = 0

    init(directory: URL, name: String) throws {
        url = directory.appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw HistoryError.cannotWriteReport(path: url.path, reason: "cannot create scratch file")
        }
        handle = try FileHandle(forWritingTo: url)
        buffer.reserveCapacity(80 << 10)
    }

    func append(_ item: AuditItem) throws {
        item.appendJSON(to: &buffer)
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

    /// Each item's line as written (what `JSONEncoder` with the report's options makes of it), in order.
    func forEachLine(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try HistoryLineReader.forEachLine(in: url) { bytes, _, _ in try body(bytes) }
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

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
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
