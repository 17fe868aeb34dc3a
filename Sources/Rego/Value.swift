import BigInt
import Foundation

/// A Rego value: JSON's values plus sets, with OPA's semantics.
///
/// Undefined is not a value: an API that can produce "undefined" returns nil.
/// Objects may have any value as key (as in Rego), and JSON output renders
/// non-string keys as their JSON text. Values are totally ordered as in OPA:
/// null < booleans < numbers < strings < arrays < objects < sets.
public enum RegoValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// Boxed, so a value stays small (the other payloads are a word or two).
    indirect case number(RegoNumber)
    case string(String)
    case array([RegoValue])
    case object([RegoValue: RegoValue])
    case set(Set<RegoValue>)

    public static func int(_ value: Int) -> RegoValue { .number(RegoNumber(value)) }
    public static let emptyObject = RegoValue.object([:])
    public static let emptySet = RegoValue.set([])

    /// OPA's type name: `null`, `boolean`, `number`, `string`, `array`, `object`, `set`.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        case .set: return "set"
        }
    }

    var typeRank: Int {
        switch self {
        case .null: return 0
        case .bool: return 1
        case .number: return 2
        case .string: return 3
        case .array: return 4
        case .object: return 5
        case .set: return 6
        }
    }

    /// Object entries in OPA's order (sorted by key).
    public var sortedEntries: [(key: RegoValue, value: RegoValue)] {
        guard case .object(let o) = self else { return [] }
        return o.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
    }

    /// Set elements in OPA's order.
    public var sortedElements: [RegoValue] {
        guard case .set(let s) = self else { return [] }
        return s.sorted()
    }

    public var isTruthy: Bool {
        if case .bool(false) = self { return false }
        return true
    }
}

extension RegoValue: Comparable {
    /// OPA's total order over values.
    public static func compare(_ a: RegoValue, _ b: RegoValue) -> Int {
        let ra = a.typeRank, rb = b.typeRank
        if ra != rb { return ra < rb ? -1 : 1 }
        switch (a, b) {
        case (.null, .null): return 0
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (!x ? -1 : 1)
        case (.number(let x), .number(let y)): return x == y ? 0 : (x < y ? -1 : 1)
        case (.string(let x), .string(let y)): return compareStrings(x, y)
        case (.array(let x), .array(let y)):
            for i in 0..<min(x.count, y.count) {
                let c = compare(x[i], y[i])
                if c != 0 { return c }
            }
            return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
        case (.object, .object):
            let x = a.sortedEntries, y = b.sortedEntries
            for i in 0..<min(x.count, y.count) {
                var c = compare(x[i].key, y[i].key)
                if c != 0 { return c }
                c = compare(x[i].value, y[i].value)
                if c != 0 { return c }
            }
            return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
        case (.set, .set):
            let x = a.sortedElements, y = b.sortedElements
            for i in 0..<min(x.count, y.count) {
                let c = compare(x[i], y[i])
                if c != 0 { return c }
            }
            return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
        default: return 0
        }
    }

    /// Byte-wise UTF-8 comparison, as Go compares strings.
    static func compareStrings(_ x: String, _ y: String) -> Int {
        if x == y { return 0 }
        var i = x.utf8.makeIterator(), j = y.utf8.makeIterator()
        while true {
            switch (i.next(), j.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let p?, let q?): if p != q { return p < q ? -1 : 1 }
            }
        }
    }

    public static func < (a: RegoValue, b: RegoValue) -> Bool { compare(a, b) < 0 }
}

// MARK: - JSON

extension RegoValue {
    /// Decodes JSON text into a value, keeping numbers exact.
    /// Throws a `RegoError` (code `invalid_json`) naming the offset of the first problem.
    public init(jsonData: Data) throws {
        var parser = JSONReader(bytes: [UInt8](jsonData))
        self = try parser.parseDocument()
    }

    /// Decodes JSON text given as a string.
    public init(jsonString: String) throws { try self.init(jsonData: Data(jsonString.utf8)) }

    /// Encodes as compact JSON the way OPA prints values: object keys and set
    /// elements sorted, sets as arrays, non-string object keys as their JSON text.
    public func jsonData() -> Data { Data(jsonString().utf8) }

    /// The compact JSON text (see `jsonData()`).
    public func jsonString() -> String {
        var out = ""
        writeJSON(into: &out, indent: nil, level: 0)
        return out
    }

    /// Indented JSON (two spaces per level, like `opa eval -f json`).
    public func prettyJSONString() -> String {
        var out = ""
        writeJSON(into: &out, indent: "  ", level: 0)
        return out
    }

    func writeJSON(into out: inout String, indent: String?, level: Int) {
        func newline(_ l: Int) {
            if let indent { out += "\n" + String(repeating: indent, count: l) }
        }
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n.description
        case .string(let s): RegoValue.writeJSONString(s, into: &out)
        case .array(let items):
            if items.isEmpty {
                out += "[]"
                return
            }
            out += "["
            for (i, v) in items.enumerated() {
                if i > 0 { out += "," }
                newline(level + 1)
                v.writeJSON(into: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out += "]"
        case .set:
            RegoValue.array(sortedElements).writeJSON(into: &out, indent: indent, level: level)
        case .object:
            let entries = sortedEntries
            if entries.isEmpty {
                out += "{}"
                return
            }
            out += "{"
            for (i, e) in entries.enumerated() {
                if i > 0 { out += "," }
                newline(level + 1)
                if case .string(let k) = e.key {
                    RegoValue.writeJSONString(k, into: &out)
                } else {
                    RegoValue.writeJSONString(e.key.jsonString(), into: &out)
                }
                out += indent == nil ? ":" : ": "
                e.value.writeJSON(into: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out += "}"
        }
    }

    static func writeJSONString(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            default:
                if u.value < 0x20 || u.value == 0x2028 || u.value == 0x2029 {
                    out += String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}

/// A strict JSON reader that keeps numbers exact and bounds nesting depth.
struct JSONReader {
    let bytes: [UInt8]
    var pos = 0
    var depth = 0
    static let maxDepth = 512

    init(bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ what: String) -> RegoError {
        RegoError(code: "invalid_json", message: "\(what) at offset \(pos)")
    }

    mutating func skipSpace() {
        while pos < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[pos]) { pos += 1 }
    }

    mutating func parseDocument() throws -> RegoValue {
        skipSpace()
        let v = try parseValue()
        skipSpace()
        if pos != bytes.count { throw fail("unexpected trailing content") }
        return v
    }

    mutating func parseValue() throws -> RegoValue {
        skipSpace()
        guard pos < bytes.count else { throw fail("unexpected end of JSON") }
        switch bytes[pos] {
        case UInt8(ascii: "{"):
            depth += 1
            defer { depth -= 1 }
            if depth > JSONReader.maxDepth { throw fail("JSON nested too deeply") }
            pos += 1
            var obj: [RegoValue: RegoValue] = [:]
            skipSpace()
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") {
                pos += 1
                return .object(obj)
            }
            while true {
                skipSpace()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected string key") }
                let k = try parseString()
                skipSpace()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                pos += 1
                obj[.string(k)] = try parseValue()
                skipSpace()
                guard pos < bytes.count else { throw fail("unterminated object") }
                if bytes[pos] == UInt8(ascii: ",") {
                    pos += 1
                    continue
                }
                if bytes[pos] == UInt8(ascii: "}") {
                    pos += 1
                    return .object(obj)
                }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            depth += 1
            defer { depth -= 1 }
            if depth > JSONReader.maxDepth { throw fail("JSON nested too deeply") }
            pos += 1
            var arr: [RegoValue] = []
            skipSpace()
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") {
                pos += 1
                return .array(arr)
            }
            while true {
                arr.append(try parseValue())
                skipSpace()
                guard pos < bytes.count else { throw fail("unterminated array") }
                if bytes[pos] == UInt8(ascii: ",") {
                    pos += 1
                    continue
                }
                if bytes[pos] == UInt8(ascii: "]") {
                    pos += 1
                    return .array(arr)
                }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default:
            let start = pos
            while pos < bytes.count, let c = Optional(bytes[pos]),
                (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".")
                    || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
            {
                pos += 1
            }
            let text = String(decoding: bytes[start..<pos], as: UTF8.self)
            guard !text.isEmpty, let n = RegoNumber(literal: text) else {
                pos = start
                throw fail("invalid value")
            }
            return .number(n)
        }
    }

    mutating func literal(_ word: String) throws {
        let w = Array(word.utf8)
        guard pos + w.count <= bytes.count, Array(bytes[pos..<pos + w.count]) == w else {
            throw fail("invalid literal")
        }
        pos += w.count
    }

    mutating func parseString() throws -> String {
        pos += 1
        var buf: [UInt8] = []
        while true {
            guard pos < bytes.count else { throw fail("unterminated string") }
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                break
            }
            if c == UInt8(ascii: "\\") {
                pos += 1
                guard pos < bytes.count else { throw fail("unterminated string") }
                let e = bytes[pos]
                pos += 1
                switch e {
                case UInt8(ascii: "n"): buf.append(0x0A)
                case UInt8(ascii: "t"): buf.append(0x09)
                case UInt8(ascii: "r"): buf.append(0x0D)
                case UInt8(ascii: "b"): buf.append(0x08)
                case UInt8(ascii: "f"): buf.append(0x0C)
                case UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: "\""): buf.append(e)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if code >= 0xD800 && code < 0xDC00, pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"),
                        bytes[pos + 1] == UInt8(ascii: "u")
                    {
                        pos += 2
                        let low = try hex4()
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                    buf.append(contentsOf: Array(String(scalar).utf8))
                default: throw fail("invalid escape")
                }
            } else {
                buf.append(c)
                pos += 1
            }
        }
        return String(decoding: buf, as: UTF8.self)
    }

    mutating func hex4() throws -> UInt32 {
        guard pos + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[pos..<pos + 4], as: UTF8.self), radix: 16)
        else {
            throw fail("invalid \\u escape")
        }
        pos += 4
        return v
    }
}
