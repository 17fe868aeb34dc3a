/// A token of Rego source.
struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        case ident(String)
        case string(String)      // decoded value of "…" or `…`
        case number(String)
        case punct(String)       // operators and brackets
        /// `$"…{expr}…"` or `` $`…{expr}…` ``: literal text and embedded expression sources.
        case template([TemplatePart])
        case newline
        case eof
    }
    let kind: Kind
    let line: Int
    let column: Int
    /// True when whitespace (not a newline) directly precedes the token.
    let spaceBefore: Bool
    /// True for a keyword used as a name in a reference (`if.foo`, `foo.if`, `package a.as.b`): it must not act as a keyword.
    var keywordAsName = false
}

/// A piece of a template string: text (escapes decoded) or the source of an embedded expression.
enum TemplatePart: Sendable, Equatable {
    case text(String)
    case expr(String, line: Int, column: Int)
}

/// Splits Rego source into tokens, tracking line and column (1-based, columns in characters).
struct Lexer {
    let file: String
    let chars: [Character]
    var pos = 0
    var line = 1
    var column = 1

    init(file: String, source: String) {
        self.file = file
        self.chars = Array(source)
    }

    func error(_ message: String, line: Int, column: Int) -> RegoError {
        RegoError(code: "rego_parse_error", message: message, file: file, line: line, column: column)
    }

    mutating func advance() {
        if chars[pos] == "\n" { line += 1; column = 1 } else { column += 1 }
        pos += 1
    }

    mutating func tokenize() throws -> [Token] {
        var tokens: [Token] = []
        var space = false
        while pos < chars.count {
            let c = chars[pos]
            let l = line, col = column
            if c == "\n" || c == "\r\n" {
                tokens.append(Token(kind: .newline, line: l, column: col, spaceBefore: space))
                advance(); space = false; continue
            }
            if c == " " || c == "\t" || c == "\r" { advance(); space = true; continue }
            if c == "#" {
                while pos < chars.count, chars[pos] != "\n", chars[pos] != "\r\n" { advance() }
                continue
            }
            defer { space = false }
            if c.isLetter || c == "_" {
                var s = ""
                while pos < chars.count, chars[pos].isLetter || chars[pos].isNumber || chars[pos] == "_", chars[pos].isASCII || chars[pos].isLetter {
                    s.append(chars[pos]); advance()
                }
                var asName = false
                if Parser.keywords.contains(s) {
                    // A keyword touching a '.' of a reference is a plain name there (OPA allows keywords in refs).
                    let nextIsDotName = pos + 1 < chars.count && chars[pos] == "." && (chars[pos + 1].isLetter || chars[pos + 1] == "_")
                    var prevIsDot = false
                    if !space, let last = tokens.last, case .punct(".") = last.kind { prevIsDot = true }
                    asName = nextIsDotName || prevIsDot
                }
                tokens.append(Token(kind: .ident(s), line: l, column: col, spaceBefore: space, keywordAsName: asName))
                continue
            }
            if c.isASCII && c.isNumber {
                var s = ""
                while pos < chars.count, chars[pos].isASCII, chars[pos].isNumber || chars[pos] == "." {
                    if chars[pos] == "." {
                        // A dot followed by a non-digit ends the number (e.g. ref after number is invalid anyway).
                        guard pos + 1 < chars.count, chars[pos + 1].isASCII, chars[pos + 1].isNumber, !s.contains(".") else { break }
                    }
                    s.append(chars[pos]); advance()
                }
                if pos < chars.count, chars[pos] == "e" || chars[pos] == "E" {
                    var look = pos + 1
                    if look < chars.count, chars[look] == "+" || chars[look] == "-" { look += 1 }
                    if look < chars.count, chars[look].isASCII, chars[look].isNumber {
                        while pos < look { s.append(chars[pos]); advance() }
                        while pos < chars.count, chars[pos].isASCII, chars[pos].isNumber { s.append(chars[pos]); advance() }
                    }
                }
                if pos < chars.count, chars[pos].isLetter || chars[pos] == "_" {
                    throw error("invalid number '\(s)\(chars[pos])'", line: l, column: col)
                }
                tokens.append(Token(kind: .number(s), line: l, column: col, spaceBefore: space))
                continue
            }
            if c == "$", pos + 1 < chars.count, chars[pos + 1] == "\"" || chars[pos + 1] == "`" {
                advance()
                tokens.append(Token(kind: .template(try template()), line: l, column: col, spaceBefore: space))
                continue
            }
            if c == "\"" {
                advance()
                var s = ""
                while true {
                    guard pos < chars.count, chars[pos] != "\n" else {
                        throw error("unterminated string: add the closing '\"' on the same line", line: l, column: col)
                    }
                    let d = chars[pos]
                    if d == "\"" { advance(); break }
                    if d == "\\" {
                        advance()
                        guard pos < chars.count else { throw error("unterminated string", line: l, column: col) }
                        let e = chars[pos]; advance()
                        switch e {
                        case "n": s.append("\n")
                        case "t": s.append("\t")
                        case "r": s.append("\r")
                        case "b": s.append("\u{08}")
                        case "f": s.append("\u{0C}")
                        case "\"", "\\", "/": s.append(e)
                        case "u":
                            var code: UInt32 = 0
                            for _ in 0..<4 {
                                guard pos < chars.count, let h = chars[pos].hexDigitValue else {
                                    throw error("invalid \\u escape in string", line: line, column: column)
                                }
                                code = code * 16 + UInt32(h); advance()
                            }
                            if code >= 0xD800, code < 0xDC00, pos + 5 < chars.count, chars[pos] == "\\", chars[pos + 1] == "u" {
                                let save = (pos, line, column)
                                advance(); advance()
                                var low: UInt32 = 0
                                var ok = true
                                for _ in 0..<4 {
                                    guard pos < chars.count, let h = chars[pos].hexDigitValue else { ok = false; break }
                                    low = low * 16 + UInt32(h); advance()
                                }
                                if ok, low >= 0xDC00, low < 0xE000 {
                                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                                } else { (pos, line, column) = save }
                            }
                            s.unicodeScalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                        default:
                            throw error("invalid escape sequence '\\\(e)' in string", line: line, column: column - 2)
                        }
                        continue
                    }
                    s.append(d); advance()
                }
                tokens.append(Token(kind: .string(s), line: l, column: col, spaceBefore: space))
                continue
            }
            if c == "`" {
                advance()
                var s = ""
                while true {
                    guard pos < chars.count else {
                        throw error("unterminated raw string: add the closing '`'", line: l, column: col)
                    }
                    if chars[pos] == "`" { advance(); break }
                    s.append(chars[pos]); advance()
                }
                tokens.append(Token(kind: .string(s), line: l, column: col, spaceBefore: space))
                continue
            }
            let two = pos + 1 < chars.count ? String([c, chars[pos + 1]]) : ""
            if [":=", "==", "!=", "<=", ">="].contains(two) {
                advance(); advance()
                tokens.append(Token(kind: .punct(two), line: l, column: col, spaceBefore: space))
                continue
            }
            if "{}[](),;.:=<>+-*/%&|".contains(c) {
                advance()
                tokens.append(Token(kind: .punct(String(c)), line: l, column: col, spaceBefore: space))
                continue
            }
            throw error("unexpected character '\(c)'", line: l, column: col)
        }
        tokens.append(Token(kind: .eof, line: line, column: column, spaceBefore: false))
        return tokens
    }

    // MARK: template strings

    /// Reads a template string whose opening quote is at `pos`.
    mutating func template() throws -> [TemplatePart] {
        let quote = chars[pos], l = line, col = column
        advance()
        var parts: [TemplatePart] = []
        var text = ""
        while true {
            guard pos < chars.count, quote == "`" || chars[pos] != "\n" else {
                throw error("unterminated template string: add the closing '\(quote)'", line: l, column: col)
            }
            let d = chars[pos]
            if d == quote { advance(); break }
            if d == "\\" && quote == "\"" || d == "\\" && pos + 1 < chars.count && chars[pos + 1] == "{" {
                advance()
                guard pos < chars.count else { throw error("unterminated template string", line: l, column: col) }
                let e = chars[pos]; advance()
                switch e {
                case "n": text.append("\n")
                case "t": text.append("\t")
                case "r": text.append("\r")
                case "b": text.append("\u{08}")
                case "f": text.append("\u{0C}")
                case "\"", "\\", "/", "{", "}": text.append(e)
                default: throw error("invalid escape sequence '\\\(e)' in template string", line: line, column: column - 2)
                }
                continue
            }
            if d == "{" {
                if !text.isEmpty { parts.append(.text(text)); text = "" }
                let el = line, ec = column + 1
                advance()
                let start = pos
                try skipTemplateExpression(l, col)
                parts.append(.expr(String(chars[start..<(pos - 1)]), line: el, column: ec))
                continue
            }
            text.append(d); advance()
        }
        if !text.isEmpty { parts.append(.text(text)) }
        return parts
    }

    /// Skips to just after the `}` closing an embedded expression, over nested strings, templates and braces.
    mutating func skipTemplateExpression(_ l: Int, _ col: Int) throws {
        var depth = 1
        while pos < chars.count {
            let c = chars[pos]
            if c == "$", pos + 1 < chars.count, chars[pos + 1] == "\"" || chars[pos + 1] == "`" {
                advance()
                _ = try template()
                continue
            }
            if c == "\"" {
                advance()
                while pos < chars.count, chars[pos] != "\"" {
                    if chars[pos] == "\\" { advance() }
                    if pos < chars.count { advance() }
                }
                guard pos < chars.count else { break }
                advance()
                continue
            }
            if c == "`" {
                advance()
                while pos < chars.count, chars[pos] != "`" { advance() }
                guard pos < chars.count else { break }
                advance()
                continue
            }
            advance()
            if c == "{" { depth += 1 }
            if c == "}" { depth -= 1; if depth == 0 { return } }
        }
        throw error("unterminated template expression: add the closing '}'", line: l, column: col)
    }
}
