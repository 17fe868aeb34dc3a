import Foundation

/// A GraphQL syntax error at a line and column (1-based, columns counted in Unicode scalars),
/// with the message text OPA's parser (gqlparser) gives.
struct GraphQLError: Error, Equatable {
    let message: String
    let line: Int
    let column: Int
}

/// Token kinds; `description` is how gqlparser names them in messages.
enum GraphQLTokenKind: Equatable {
    case invalid, eof, bang, dollar, amp, parenL, parenR, spread, colon, equals, at
    case bracketL, bracketR, braceL, braceR, pipe, name, int, float, string, blockString

    var description: String {
        switch self {
        case .invalid: return "<Invalid>"
        case .eof: return "<EOF>"
        case .bang: return "!"
        case .dollar: return "$"
        case .amp: return "&"
        case .parenL: return "("
        case .parenR: return ")"
        case .spread: return "..."
        case .colon: return ":"
        case .equals: return "="
        case .at: return "@"
        case .bracketL: return "["
        case .bracketR: return "]"
        case .braceL: return "{"
        case .braceR: return "}"
        case .pipe: return "|"
        case .name: return "Name"
        case .int: return "Int"
        case .float: return "Float"
        case .string: return "String"
        case .blockString: return "BlockString"
        }
    }
}

struct GraphQLToken {
    var kind: GraphQLTokenKind
    var value: String
    var line: Int
    var column: Int

    /// `Name "foo"`, `{`, `<EOF>`: the form used in "Expected …, found …" messages.
    var description: String {
        value.isEmpty ? kind.description : "\(kind.description) \(GraphQLLexer.goQuote(value))"
    }
}

/// The GraphQL lexer, over UTF-8 bytes, with gqlparser's token positions and error messages.
struct GraphQLLexer {
    private let input: [UInt8]
    private var start = 0, startRunes = 0
    private var end = 0, endRunes = 0
    private var line = 1, lineStartRunes = 0

    init(_ source: String) { input = Array(source.utf8) }

    private func token(_ kind: GraphQLTokenKind, _ value: String) -> GraphQLToken {
        GraphQLToken(kind: kind, value: value, line: line, column: startRunes - lineStartRunes + 1)
    }

    private func text(_ from: Int, _ to: Int) -> String {
        String(decoding: input[from..<to], as: UTF8.self)
    }

    private func error(_ message: String) -> (GraphQLToken, GraphQLError?) {
        let column = endRunes - lineStartRunes + 1
        return (
            GraphQLToken(kind: .invalid, value: "", line: line, column: column),
            GraphQLError(message: message, line: line, column: column)
        )
    }

    /// The next token; a lexical error comes back as an `<Invalid>` token together with the error.
    mutating func next() -> (GraphQLToken, GraphQLError?) {
        while true {
            skipWhitespace()
            start = end
            startRunes = endRunes
            guard end < input.count else { return (token(.eof, ""), nil) }
            let r = input[start]
            end += 1
            endRunes += 1
            switch r {
            case UInt8(ascii: "!"): return (token(.bang, ""), nil)
            case UInt8(ascii: "$"): return (token(.dollar, ""), nil)
            case UInt8(ascii: "&"): return (token(.amp, ""), nil)
            case UInt8(ascii: "("): return (token(.parenL, ""), nil)
            case UInt8(ascii: ")"): return (token(.parenR, ""), nil)
            case UInt8(ascii: "."):
                if input.count > start + 2, input[start + 1] == UInt8(ascii: "."), input[start + 2] == UInt8(ascii: ".")
                {
                    end += 2
                    endRunes += 2
                    return (token(.spread, ""), nil)
                }
            case UInt8(ascii: ":"): return (token(.colon, ""), nil)
            case UInt8(ascii: "="): return (token(.equals, ""), nil)
            case UInt8(ascii: "@"): return (token(.at, ""), nil)
            case UInt8(ascii: "["): return (token(.bracketL, ""), nil)
            case UInt8(ascii: "]"): return (token(.bracketR, ""), nil)
            case UInt8(ascii: "{"): return (token(.braceL, ""), nil)
            case UInt8(ascii: "}"): return (token(.braceR, ""), nil)
            case UInt8(ascii: "|"): return (token(.pipe, ""), nil)
            case UInt8(ascii: "#"):
                skipComment()
                continue
            case UInt8(ascii: "_"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
                return readName()
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return readNumber()
            case UInt8(ascii: "\""):
                if input.count > start + 2, input[start + 1] == UInt8(ascii: "\""),
                    input[start + 2] == UInt8(ascii: "\"")
                {
                    return readBlockString()
                }
                return readString()
            default:
                break
            }
            end -= 1
            endRunes -= 1
            if r < 0x20 && r != 0x09 && r != 0x0a && r != 0x0d {
                return error("Cannot contain the invalid character \"\\u\(Self.pad4(Int(r)))\"")
            }
            if r == UInt8(ascii: "'") {
                return error("Unexpected single quote character ('), did you mean to use a double quote (\")?")
            }
            return error("Cannot parse the unexpected character \"\(Self.runeString(input, end))\".")
        }
    }

    /// Go's `%04d`.
    static func pad4(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }

    /// The character starting at byte `i` (Go's `string(r)` of a byte: a Latin-1 rune).
    static func runeString(_ input: [UInt8], _ i: Int) -> String {
        String(UnicodeScalar(input[i]))
    }

    private mutating func skipWhitespace() {
        while end < input.count {
            switch input[end] {
            case 0x09, 0x20, UInt8(ascii: ","):
                end += 1
                endRunes += 1
            case 0x0a:
                end += 1
                endRunes += 1
                line += 1
                lineStartRunes = endRunes
            case 0x0d:
                end += 1
                endRunes += 1
                line += 1
                lineStartRunes = endRunes
                if end < input.count && input[end] == 0x0a {
                    end += 1
                    endRunes += 1
                }
            case 0xef:
                if end + 2 < input.count && input[end + 1] == 0xbb && input[end + 2] == 0xbf {
                    end += 3
                    endRunes += 1
                } else {
                    return
                }
            default:
                return
            }
        }
    }

    /// Width in bytes of the UTF-8 sequence starting at `i` (1 for a malformed byte, as Go's decoder).
    private func runeWidth(_ i: Int) -> Int {
        let b = input[i]
        let w = b < 0x80 ? 1 : b >> 5 == 0x6 ? 2 : b >> 4 == 0xe ? 3 : b >> 3 == 0x1e ? 4 : 1
        guard i + w <= input.count else { return 1 }
        for k in 1..<w where input[i + k] & 0xc0 != 0x80 { return 1 }
        return w
    }

    private mutating func skipComment() {
        while end < input.count {
            let r = input[end]
            if r > 0x1f || r == 0x09 {
                end += runeWidth(end)
                endRunes += 1
            } else {
                break
            }
        }
    }

    private mutating func readName() -> (GraphQLToken, GraphQLError?) {
        while end < input.count {
            let r = input[end]
            if (r >= UInt8(ascii: "0") && r <= UInt8(ascii: "9")) || (r >= UInt8(ascii: "A") && r <= UInt8(ascii: "Z"))
                || (r >= UInt8(ascii: "a") && r <= UInt8(ascii: "z")) || r == UInt8(ascii: "_")
            {
                end += 1
                endRunes += 1
            } else {
                break
            }
        }
        return (token(.name, text(start, end)), nil)
    }

    private mutating func accept(_ bytes: UInt8...) -> Bool {
        guard end < input.count, bytes.contains(input[end]) else { return false }
        end += 1
        endRunes += 1
        return true
    }

    private mutating func acceptDigits() -> Int {
        var n = 0
        while end < input.count && input[end] >= UInt8(ascii: "0") && input[end] <= UInt8(ascii: "9") {
            end += 1
            endRunes += 1
            n += 1
        }
        return n
    }

    private func describeNext() -> String {
        end < input.count ? "\"\(Self.runeString(input, end))\"" : "<EOF>"
    }

    private mutating func readNumber() -> (GraphQLToken, GraphQLError?) {
        var isFloat = false
        end -= 1
        endRunes -= 1
        _ = accept(UInt8(ascii: "-"))
        if accept(UInt8(ascii: "0")) {
            let consumed = acceptDigits()
            if consumed != 0 {
                end -= consumed
                endRunes -= consumed
                return error("Invalid number, unexpected digit after 0: \(describeNext()).")
            }
        } else if acceptDigits() == 0 {
            return error("Invalid number, expected digit but got: \(describeNext()).")
        }
        if accept(UInt8(ascii: ".")) {
            isFloat = true
            if acceptDigits() == 0 { return error("Invalid number, expected digit but got: \(describeNext()).") }
        }
        if accept(UInt8(ascii: "e"), UInt8(ascii: "E")) {
            isFloat = true
            _ = accept(UInt8(ascii: "-"), UInt8(ascii: "+"))
            if acceptDigits() == 0 { return error("Invalid number, expected digit but got: \(describeNext()).") }
        }
        return (token(isFloat ? .float : .int, text(start, end)), nil)
    }

    private static func unhex(_ bytes: ArraySlice<UInt8>) -> UInt32? {
        var v: UInt32 = 0
        for c in bytes {
            v <<= 4
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v |= UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v |= UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v |= UInt32(c - UInt8(ascii: "A") + 10)
            default: return nil
            }
        }
        return v
    }

    private mutating func readString() -> (GraphQLToken, GraphQLError?) {
        var buf: [UInt8]? = nil
        start += 1
        startRunes += 1
        while end < input.count {
            let r = input[end]
            if r == 0x0a || r == 0x0d { break }
            if r < 0x20 && r != 0x09 { return error("Invalid character within String: \"\\u\(Self.pad4(Int(r)))\".") }
            switch r {
            case UInt8(ascii: "\""):
                let value = buf.map { String(decoding: $0, as: UTF8.self) } ?? text(start, end)
                let t = token(.string, value)
                end += 1
                endRunes += 1
                return (t, nil)
            case UInt8(ascii: "\\"):
                if end + 1 >= input.count {
                    end += 1
                    endRunes += 1
                    return error("Invalid character escape sequence.")
                }
                if buf == nil { buf = Array(input[start..<end]) }
                let escape = input[end + 1]
                if escape == UInt8(ascii: "u") {
                    if end + 6 >= input.count {
                        end += 1
                        endRunes += 1
                        return error("Invalid character escape sequence: \\\(text(end, input.count)).")
                    }
                    guard let v = Self.unhex(input[(end + 2)..<(end + 6)]) else {
                        end += 1
                        endRunes += 1
                        return error("Invalid character escape sequence: \\\(text(end, end + 5)).")
                    }
                    let scalar = UnicodeScalar(v) ?? "\u{FFFD}"
                    buf!.append(contentsOf: Array(String(scalar).utf8))
                    end += 6
                    endRunes += 6
                } else {
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "/"), UInt8(ascii: "\\"): buf!.append(escape)
                    case UInt8(ascii: "b"): buf!.append(0x08)
                    case UInt8(ascii: "f"): buf!.append(0x0c)
                    case UInt8(ascii: "n"): buf!.append(0x0a)
                    case UInt8(ascii: "r"): buf!.append(0x0d)
                    case UInt8(ascii: "t"): buf!.append(0x09)
                    default:
                        end += 1
                        endRunes += 1
                        return error("Invalid character escape sequence: \\\(Self.runeString(input, end)).")
                    }
                    end += 2
                    endRunes += 2
                }
            default:
                let w = r >= 127 ? runeWidth(end) : 1
                buf?.append(contentsOf: input[end..<(end + w)])
                end += w
                endRunes += 1
            }
        }
        return error("Unterminated string.")
    }

    private mutating func readBlockString() -> (GraphQLToken, GraphQLError?) {
        var buf: [UInt8] = []
        start += 3
        startRunes += 3
        end += 2
        endRunes += 2
        while end < input.count {
            let r = input[end]
            if r == UInt8(ascii: "\""), end + 3 <= input.count, input[end + 1] == UInt8(ascii: "\""),
                input[end + 2] == UInt8(ascii: "\"")
            {
                let t = token(.blockString, Self.blockStringValue(String(decoding: buf, as: UTF8.self)))
                end += 3
                endRunes += 3
                return (t, nil)
            }
            if r < 0x20 && r != 0x09 && r != 0x0a && r != 0x0d {
                return error("Invalid character within String: \"\\u\(Self.pad4(Int(r)))\".")
            }
            if r == UInt8(ascii: "\\"), end + 4 <= input.count, input[end + 1] == UInt8(ascii: "\""),
                input[end + 2] == UInt8(ascii: "\""), input[end + 3] == UInt8(ascii: "\"")
            {
                buf.append(contentsOf: [0x22, 0x22, 0x22])
                end += 4
                endRunes += 4
            } else if r == 0x0d {
                if end + 1 < input.count && input[end + 1] == 0x0a {
                    end += 1
                    endRunes += 1
                }
                buf.append(0x0a)
                end += 1
                endRunes += 1
                line += 1
                lineStartRunes = endRunes
            } else {
                let w = r >= 127 ? runeWidth(end) : 1
                buf.append(contentsOf: input[end..<(end + w)])
                end += w
                endRunes += 1
                if r == 0x0a {
                    line += 1
                    lineStartRunes = endRunes
                }
            }
        }
        return error("Unterminated string.")
    }

    /// The value of a block string: common indentation removed, leading and trailing blank lines dropped.
    static func blockStringValue(_ raw: String) -> String {
        var lines = raw.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func indent(_ s: String) -> Int? {
            var n = 0
            for c in s.unicodeScalars {
                if c == " " || c == "\t" { n += 1 } else { return n }
            }
            return nil  // blank
        }
        var common: Int? = nil
        for (i, l) in lines.enumerated() where i > 0 {
            if let n = indent(l) { common = min(common ?? n, n) }
        }
        if let c = common {
            for i in lines.indices where i > 0 {
                lines[i] = String(lines[i].unicodeScalars.dropFirst(min(c, lines[i].unicodeScalars.count)))
            }
        }
        var lo = 0, hi = lines.count
        while lo < hi && indent(lines[lo]) == nil { lo += 1 }
        while lo < hi && indent(lines[hi - 1]) == nil { hi -= 1 }
        return lines[lo..<hi].joined(separator: "\n")
    }

    /// Go's `strconv.Quote` for the strings that appear in messages.
    static func goQuote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{0B}": out += "\\v"
            default:
                if u.value < 0x20 || u.value == 0x7f {
                    out += "\\x" + String(format: "%02x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
