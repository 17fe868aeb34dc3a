import Foundation
import Logging

/// A swift-log handler that writes one JSON object per line:
/// `{"time":"2026-01-02T03:04:05.678Z","level":"info","message":"request",...metadata}`.
///
/// Metadata keys become top-level keys. A `.stringConvertible` value that wraps an
/// integer or a floating-point number is written as a JSON number, so
/// `duration_ms` and `status` stay numeric for log processors. Each line goes out in a
/// single `write(2)`, so lines from concurrent requests never interleave.
struct JSONLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    private let label: String
    private let sink: @Sendable (String) -> Void

    /// - Parameter sink: receives each finished line (newline included); defaults to stdout.
    init(label: String, sink: @escaping @Sendable (String) -> Void = JSONLogHandler.writeToStandardOutput) {
        self.label = label
        self.sink = sink
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        if let error = event.error { merged["error"] = .string("\(error)") }
        var line = "{\"time\":\(Self.quote(Self.timestamp(Date())))"
        line += ",\"level\":\(Self.quote(event.level.rawValue))"
        line += ",\"message\":\(Self.quote(event.message.description))"
        for key in merged.keys.sorted() where !["time", "level", "message"].contains(key) {
            line += ",\(Self.quote(key)):\(Self.render(merged[key]!))"
        }
        line += "}\n"
        sink(line)
    }

    @Sendable static func writeToStandardOutput(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 {
                    if written < 0 && errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// RFC 3339 UTC time with milliseconds, e.g. `2026-11-21T18:04:05.123Z`.
    static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return pad(parts.tm_year + 1900, 4) + "-" + pad(parts.tm_mon + 1, 2) + "-" + pad(parts.tm_mday, 2)
            + "T" + pad(parts.tm_hour, 2) + ":" + pad(parts.tm_min, 2) + ":" + pad(parts.tm_sec, 2)
            + "." + pad(Int32(milliseconds % 1000), 3) + "Z"
    }

    static func render(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string):
            return quote(string)
        case .stringConvertible(let convertible):
            switch convertible {
            case let number as any BinaryInteger:
                return "\(number)"
            case let number as Double where number.isFinite:
                return "\(number)"
            case let number as Float where number.isFinite:
                return "\(number)"
            default:
                return quote(convertible.description)
            }
        case .array(let values):
            return "[" + values.map(render).joined(separator: ",") + "]"
        case .dictionary(let values):
            return "{" + values.keys.sorted().map { "\(quote($0)):\(render(values[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    /// A JSON string literal with every character that JSON requires escaped.
    static func quote(_ string: String) -> String {
        var out = "\""
        out.reserveCapacity(string.utf8.count + 2)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
