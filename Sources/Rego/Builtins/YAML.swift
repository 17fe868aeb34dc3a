import BigInt
import Foundation

/// A small YAML reader and writer for the `yaml.*` builtins: block mappings and
/// sequences by indentation, flow collections, plain and quoted scalars,
/// comments. Anchors, tags, multi-documents and block scalars (`|`, `>`) are
/// reported as unsupported errors rather than misread.
struct YAMLReader {
    struct Line {
        let indent: Int
        var text: String
        let number: Int
    }
    var lines: [Line] = []
    var i = 0

    static func error(_ line: Int, _ message: String) -> RegoError {
        RegoError.builtin("yaml: line \(line): \(message)")
    }

    init(_ text: String) throws {
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var s = String(raw)
            if s.hasSuffix("\r") { s.removeLast() }
            s = YAMLReader.stripComment(s)
            let trimmed = s.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed == "---" { continue }
            if s.contains("\t") && s.prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") {
                throw YAMLReader.error(n + 1, "found character that cannot start any token")
            }
            let indent = s.prefix(while: { $0 == " " }).count
            lines.append(
                Line(
                    indent: indent, text: String(s.dropFirst(indent)).trimmingCharacters(in: .whitespaces),
                    number: n + 1))
        }
    }

    static func stripComment(_ s: String) -> String {
        var inSingle = false, inDouble = false
        var prev: Character = " "
        var out = ""
        for c in s {
            if c == "'" && !inDouble { inSingle.toggle() }
            if c == "\"" && !inSingle && prev != "\\" { inDouble.toggle() }
            if c == "#" && !inSingle && !inDouble && (prev == " " || out.isEmpty) { break }
            out.append(c)
            prev = c
        }
        return out
    }

    mutating func parseDocument() throws -> RegoValue {
        if lines.isEmpty { return .null }
        let v = try parseBlock(indent: lines[0].indent)
        if i < lines.count { throw YAMLReader.error(lines[i].number, "did not find expected <document start>") }
        return v
    }

    mutating func parseBlock(indent: Int) throws -> RegoValue {
        let line = lines[i]
        if line.text == "-" || line.text.hasPrefix("- ") { return try parseSequence(indent: line.indent) }
        if splitKey(line.text) != nil { return try parseMapping(indent: line.indent) }
        i += 1
        return try YAMLReader.scalarOrFlow(line.text, line.number)
    }

    mutating func parseSequence(indent: Int) throws -> RegoValue {
        var items: [RegoValue] = []
        while i < lines.count, lines[i].indent == indent, lines[i].text == "-" || lines[i].text.hasPrefix("- ") {
            let line = lines[i]
            let rest = line.text == "-" ? "" : String(line.text.dropFirst(2)).trimmingCharacters(in: .whitespaces)
            if rest.isEmpty {
                i += 1
                if i < lines.count, lines[i].indent > indent {
                    items.append(try parseBlock(indent: lines[i].indent))
                } else {
                    items.append(.null)
                }
            } else {
                // "- key: value" or "- - x": the rest is a node indented past the dash.
                let inner = indent + 2 + (line.text.dropFirst(2).prefix(while: { $0 == " " }).count)
                lines[i] = Line(indent: inner, text: rest, number: line.number)
                items.append(try parseBlock(indent: inner))
            }
        }
        if i < lines.count, lines[i].indent > indent {
            throw YAMLReader.error(lines[i].number, "did not find expected '-' indicator")
        }
        return .array(items)
    }

    mutating func parseMapping(indent: Int) throws -> RegoValue {
        var obj: [RegoValue: RegoValue] = [:]
        while i < lines.count, lines[i].indent == indent, let (k, v) = splitKey(lines[i].text) {
            let number = lines[i].number
            let key = try YAMLReader.scalarOrFlow(k, number)
            i += 1
            if v.isEmpty {
                if i < lines.count,
                    lines[i].indent > indent || (lines[i].indent == indent && lines[i].text.hasPrefix("- "))
                {
                    obj[key] = try parseBlock(indent: lines[i].indent)
                } else {
                    obj[key] = .null
                }
            } else {
                obj[key] = try YAMLReader.scalarOrFlow(v, number)
            }
        }
        if i < lines.count, lines[i].indent > indent {
            throw YAMLReader.error(lines[i].number, "mapping values are not allowed in this context")
        }
        return .object(obj)
    }

    /// "key: value" → (key, value); nil when the line is not a mapping entry.
    func splitKey(_ text: String) -> (String, String)? {
        if text.hasPrefix("{") || text.hasPrefix("[") { return nil }
        var inSingle = false, inDouble = false
        let chars = Array(text)
        for (idx, c) in chars.enumerated() {
            if c == "'" && !inDouble { inSingle.toggle() }
            if c == "\"" && !inSingle { inDouble.toggle() }
            if c == ":" && !inSingle && !inDouble && (idx + 1 == chars.count || chars[idx + 1] == " ") {
                return (
                    String(chars[..<idx]).trimmingCharacters(in: .whitespaces),
                    String(chars[(idx + 1)...]).trimmingCharacters(in: .whitespaces)
                )
            }
        }
        return nil
    }

    static func scalarOrFlow(_ text: String, _ line: Int) throws -> RegoValue {
        if text.hasPrefix("[") || text.hasPrefix("{") {
            var p = FlowParser(chars: Array(text), line: line)
            let v = try p.parse()
            p.skipSpace()
            if p.pos != p.chars.count { throw error(line, "did not find expected <document start>") }
            return v
        }
        if text.hasPrefix("&") || text.hasPrefix("*") || text.hasPrefix("!") || text == "|" || text == ">"
            || text.hasPrefix("|") || text.hasPrefix(">")
        {
            throw RegoError.builtin(
                "yaml: line \(line): anchors, aliases, tags and block scalars are not supported by the embedded engine")
        }
        return try scalar(text, line)
    }

    static func scalar(_ text: String, _ line: Int) throws -> RegoValue {
        if text.hasPrefix("\"") {
            guard text.count >= 2, text.hasSuffix("\"") else { throw error(line, "found unexpected end of stream") }
            return try RegoValue(jsonString: text)
        }
        if text.hasPrefix("'") {
            guard text.count >= 2, text.hasSuffix("'") else { throw error(line, "found unexpected end of stream") }
            return .string(String(text.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'"))
        }
        switch text {
        case "null", "Null", "NULL", "~", "": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if text.range(of: #"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$"#, options: .regularExpression) != nil,
            let n = RegoNumber(parsing: text.hasPrefix("+") ? String(text.dropFirst()) : text)
        {
            return .number(YAMLNumber.read(text, n))
        }
        return .string(text)
    }

    struct FlowParser {
        let chars: [Character]
        let line: Int
        var pos = 0
        var depth = 0

        mutating func skipSpace() { while pos < chars.count, chars[pos] == " " { pos += 1 } }

        mutating func parse() throws -> RegoValue {
            skipSpace()
            guard pos < chars.count else { throw YAMLReader.error(line, "did not find expected node content") }
            depth += 1
            defer { depth -= 1 }
            if depth > 200 { throw YAMLReader.error(line, "exceeded max depth") }
            if chars[pos] == "[" {
                pos += 1
                var items: [RegoValue] = []
                while true {
                    skipSpace()
                    guard pos < chars.count else { throw YAMLReader.error(line, "did not find expected ',' or ']'") }
                    if chars[pos] == "]" {
                        pos += 1
                        return .array(items)
                    }
                    items.append(try parse())
                    skipSpace()
                    guard pos < chars.count else { throw YAMLReader.error(line, "did not find expected ',' or ']'") }
                    if chars[pos] == "," {
                        pos += 1
                        continue
                    }
                    if chars[pos] == "]" {
                        pos += 1
                        return .array(items)
                    }
                    throw YAMLReader.error(line, "did not find expected ',' or ']'")
                }
            }
            if chars[pos] == "{" {
                pos += 1
                var obj: [RegoValue: RegoValue] = [:]
                while true {
                    skipSpace()
                    guard pos < chars.count else { throw YAMLReader.error(line, "did not find expected ',' or '}'") }
                    if chars[pos] == "}" {
                        pos += 1
                        return .object(obj)
                    }
                    let k = try parseScalar(stops: [":", ",", "}"])
                    skipSpace()
                    guard pos < chars.count, chars[pos] == ":" else {
                        throw YAMLReader.error(line, "did not find expected ',' or '}'")
                    }
                    pos += 1
                    obj[k] = try parse()
                    skipSpace()
                    guard pos < chars.count else { throw YAMLReader.error(line, "did not find expected ',' or '}'") }
                    if chars[pos] == "," {
                        pos += 1
                        continue
                    }
                    if chars[pos] == "}" {
                        pos += 1
                        return .object(obj)
                    }
                    throw YAMLReader.error(line, "did not find expected ',' or '}'")
                }
            }
            return try parseScalar(stops: [",", "]", "}"])
        }

        mutating func parseScalar(stops: Set<Character>) throws -> RegoValue {
            skipSpace()
            let start = pos
            if pos < chars.count, chars[pos] == "\"" || chars[pos] == "'" {
                let q = chars[pos]
                pos += 1
                while pos < chars.count, chars[pos] != q {
                    if chars[pos] == "\\" && q == "\"" { pos += 1 }
                    pos += 1
                }
                guard pos < chars.count else { throw YAMLReader.error(line, "found unexpected end of stream") }
                pos += 1
                return try YAMLReader.scalar(String(chars[start..<pos]), line)
            }
            while pos < chars.count, !stops.contains(chars[pos]) { pos += 1 }
            return try YAMLReader.scalar(String(chars[start..<pos]).trimmingCharacters(in: .whitespaces), line)
        }
    }
}

/// Writes values as block YAML (sets as sequences, keys sorted), readable back by `YAMLReader`.
enum YAMLWriter {
    static func write(_ v: RegoValue) -> String {
        var out: [String] = []
        emit(v, indent: 0, into: &out)
        return out.joined(separator: "\n") + "\n"
    }

    static func scalar(_ v: RegoValue) -> String? {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return YAMLNumber.write(n)
        case .string(let s):
            let plain =
                !s.isEmpty && s.range(of: #"^[A-Za-z_/.][A-Za-z0-9_ ./-]*$"#, options: .regularExpression) != nil
                && !["null", "true", "false", "yes", "no", "on", "off", "~"].contains(s.lowercased())
                && !s.hasSuffix(" ")
            return plain ? s : RegoValue.string(s).jsonString()
        case .array(let a) where a.isEmpty: return "[]"
        case .set(let s) where s.isEmpty: return "[]"
        case .object(let o) where o.isEmpty: return "{}"
        default: return nil
        }
    }

    static func emit(_ v: RegoValue, indent: Int, into out: inout [String]) {
        let pad = String(repeating: " ", count: indent)
        if let s = scalar(v) {
            out.append(pad + s)
            return
        }
        switch v {
        case .array, .set:
            let items: [RegoValue]
            if case .array(let a) = v { items = a } else { items = v.sortedElements }
            for item in items {
                if let s = scalar(item) {
                    out.append(pad + "- " + s)
                    continue
                }
                var sub: [String] = []
                emit(item, indent: indent + 2, into: &sub)
                sub[0] = pad + "- " + sub[0].dropFirst(indent + 2)
                out += sub
            }
        case .object:
            for e in v.sortedEntries {
                let key = scalar(e.key) ?? RegoValue.string(e.key.jsonString()).jsonString()
                if let s = scalar(e.value) {
                    out.append(pad + key + ": " + s)
                    continue
                }
                out.append(pad + key + ":")
                emit(e.value, indent: indent + 2, into: &out)
            }
        default: break
        }
    }
}

/// Numbers as OPA's YAML builtins see them: its YAML library (sigs.k8s.io/yaml over yaml.v2)
/// holds a number as an int64/uint64 when its text is an integer that fits, else as a float64,
/// so `yaml.marshal` prints `2.0` as `2` and `1e-7` as `1e-07`, and `yaml.unmarshal` gives the
/// number the JSON encoding of that int or float64 spells (`1.0` → `1`, `1e-7` → `1e-7`).
enum YAMLNumber {
    /// The integer when `text` is one (sign and digits) that fits int64 or uint64.
    static func integer(_ text: String) -> RegoNumber? {
        let body = text.hasPrefix("+") || text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        guard !body.isEmpty, body.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        let t = text.hasPrefix("+") ? String(text.dropFirst()) : text
        if let i = Int64(t) { return RegoNumber(Int(i)) }
        if let u = UInt64(t) { return RegoNumber(BigInt(u)) }
        return nil
    }

    static func write(_ n: RegoNumber) -> String {
        let text = n.description
        if let i = integer(text) { return i.description }
        return GoFormat.goFloat(n.doubleValue)
    }

    static func read(_ text: String, _ n: RegoNumber) -> RegoNumber {
        if let i = integer(text) { return i }
        let d = n.doubleValue
        guard d.isFinite else { return n }
        let json = GoFormat.jsonFloat(d)
        return RegoNumber(literal: json) ?? n
    }
}
