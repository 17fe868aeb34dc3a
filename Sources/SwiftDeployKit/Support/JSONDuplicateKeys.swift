import Foundation

/// Finds object keys that appear more than once in JSON text. `JSONDecoder` keeps one of them silently (the first),
/// OPA keeps the last: a limit written twice is ambiguous, so the thresholds file refuses it instead.
enum JSONDuplicateKeys {
    /// Dotted paths of repeated keys (`canary.max_error_rate`; array elements as `[]`) with the 1-based line of the
    /// repetition. Expects text that already parsed as JSON.
    static func find(in data: Data) -> [(path: String, line: Int)] {
        let bytes = [UInt8](data)
        enum Frame {
            case object(keys: Set<String>, path: String, pendingKey: String?)
            case array(path: String)
        }
        var stack: [Frame] = []
        var found: [(path: String, line: Int)] = []
        var expectingKey = false
        var line = 1
        var i = 0

        func childPath() -> String {
            switch stack.last {
            case .object(_, let path, let key?)?: return path.isEmpty ? key : "\(path).\(key)"
            case .array(let path)?: return path + "[]"
            default: return ""
            }
        }

        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "\n"):
                line += 1
                i += 1
            case UInt8(ascii: "{"):
                stack.append(.object(keys: [], path: childPath(), pendingKey: nil))
                expectingKey = true
                i += 1
            case UInt8(ascii: "["):
                stack.append(.array(path: childPath()))
                expectingKey = false
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
                expectingKey = false
                i += 1
            case UInt8(ascii: ","):
                if case .object? = stack.last { expectingKey = true }
                i += 1
            case UInt8(ascii: ":"):
                expectingKey = false
                i += 1
            case UInt8(ascii: "\""):
                var j = i + 1
                while j < bytes.count, bytes[j] != UInt8(ascii: "\"") {
                    j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1
                }
                let token = Data(bytes[i...min(j, bytes.count - 1)])
                let text =
                    (try? JSONDecoder().decode(String.self, from: token)) ?? String(decoding: token, as: UTF8.self)
                if expectingKey, case .object(var keys, let path, _)? = stack.last {
                    if keys.contains(text) { found.append((path.isEmpty ? text : "\(path).\(text)", line)) }
                    keys.insert(text)
                    stack[stack.count - 1] = .object(keys: keys, path: path, pendingKey: text)
                }
                i = j + 1
            default:
                i += 1
            }
        }
        return found
    }
}
