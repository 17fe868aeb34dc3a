/// A token of Rego source.
struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        case ident(String)
        case string(String)  // decoded value of "…" or `…`
        case number(String)
        case punct(String)  // operators and brackets
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
    /// True for a keyword used as a name in a reference (`if.foo`, `foo.if`, `package a.as.b`): it must not act as a
    /// keyword.
    var keywordAsName = false
    /// True for an identifier that is one of `Parser.keywords`, found once by the lexer.
    var isKeyword = false
    /// A punctuation token's bytes as a number (first byte, second byte shifted by 8; `Parser.code`),
    /// so the parser compares operators as integers, not strings; 0 for other tokens.
    var punct: UInt16 = 0
    /// An identifier of at most 8 bytes packed into a number (`Parser.word`), so the parser
    /// tests for a keyword by one comparison; 0 for other tokens.
    var word: UInt64 = 0
}

/// A piece of a template string: text (escapes decoded) or the source of an embedded expression.
enum TemplatePart: Sendable, Equatable {
    case text(String)
    case expr(String, line: Int, column: Int)
}

/// Splits Rego source into tokens, tracking line and column (1-based, columns in characters).
///
/// Works on the UTF-8 bytes of the source: every character that can start or end a token is
/// ASCII, so the lexer never needs grapheme breaking. A column is the byte offset within the
/// line, except on a line holding non-ASCII text before the token, where the characters are
/// counted (so columns stay in characters, as they always were).
struct Lexer {
    let file: String
    let bytes: [UInt8]
    var pos = 0
    var line = 1
    /// Byte offset of the first byte of the current line.
    var lineStart = 0
    /// Byte offset of the first non-ASCII byte of the current line, if any so far.
    var lineNonASCII: Int? = nil

    init(file: String, source: String) {
        self.file = file
        self.bytes = Array(source.utf8)
    }

    /// The 1-based column (in characters) of byte offset `at` on the current line.
    func column(at offset: Int) -> Int {
        if let n = lineNonASCII, n < offset {
            return String(decoding: bytes[lineStart..<offset], as: UTF8.self).count + 1
        }
        return offset - lineStart + 1
    }
    var column: Int { column(at: pos) }

    func error(_ message: String, line: Int, column: Int) -> RegoError {
        RegoError(code: "rego_parse_error", message: message, file: file, line: line, column: column)
    }

    @inline(__always) func byte(_ i: Int) -> UInt8 { i < bytes.count ? bytes[i] : 0 }

    /// Moves past one byte, keeping line bookkeeping.
    @inline(__always)
    mutating func advance() {
        let b = bytes[pos]
        pos += 1
        if b == 0x0A {
            line += 1
            lineStart = pos
            lineNonASCII = nil
        } else if b >= 0x80, lineNonASCII == nil {
            lineNonASCII = pos - 1
        }
    }

    static func isASCIILetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case 0x30...0x39: return UInt32(b - 0x30)
        case 0x61...0x66: return UInt32(b - 0x61 + 10)
        case 0x41...0x46: return UInt32(b - 0x41 + 10)
        default: return nil
        }
    }

    /// The Unicode scalar starting at `i` and its length in bytes (the source is valid UTF-8).
    func scalar(at i: Int) -> (Unicode.Scalar, Int) {
        var it = bytes[i...].makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let s) = decoder.decode(&it) { return (s, s.utf8.count) }
        return ("\u{FFFD}", 1)
    }

    /// The character (grapheme) starting at byte `i`, for messages.
    func character(at i: Int) -> Character {
        String(decoding: bytes[i..<min(bytes.count, i + 16)], as: UTF8.self).first ?? "\u{FFFD}"
    }

    /// True when the byte at `i` starts a letter (ASCII, or a non-ASCII alphabetic scalar).
    func isLetter(at i: Int) -> Bool {
        let b = bytes[i]
        if b < 0x80 { return Lexer.isASCIILetter(b) }
        return scalar(at: i).0.properties.isAlphabetic
    }

    /// True when the byte at `i` starts a letter, digit or `_` that may continue an identifier.
    func continuesIdentifier(at i: Int) -> Bool {
        let b = bytes[i]
        if b < 0x80 { return Lexer.isASCIILetter(b) || Lexer.isDigit(b) || b == 0x5F }
        return scalar(at: i).0.properties.isAlphabetic
    }

    /// Moves past one (possibly multi-byte) scalar.
    mutating func advanceScalar() {
        let n = bytes[pos] < 0x80 ? 1 : scalar(at: pos).1
        for _ in 0..<n { advance() }
    }

    static let punctuation: [Bool] = {
        var t = [Bool](repeating: false, count: 128)
        for c in "{}[](),;.:=<>+-*/%&|".utf8 { t[Int(c)] = true }
        return t
    }()

    mutating func tokenize() throws -> [Token] {
        var tokens: [Token] = []
        tokens.reserveCapacity(bytes.count / 4)
        var space = false
        while pos < bytes.count {
            let c = bytes[pos]
            let l = line, col = column
            if c == 0x0A || (c == 0x0D && byte(pos + 1) == 0x0A) {
                tokens.append(Token(kind: .newline, line: l, column: col, spaceBefore: space))
                if c == 0x0D { advance() }
                advance()
                space = false
                continue
            }
            if c == 0x20 || c == 0x09 || c == 0x0D {
                advance()
                space = true
                continue
            }
            if c == 0x23 {  // '#': a comment to the end of the line
                // One scan to the line's end (no line is crossed, so only non-ASCII text is noted).
                var p = pos
                let n = bytes.count
                while p < n {
                    let b = bytes[p]
                    if b == 0x0A || (b == 0x0D && p + 1 < n && bytes[p + 1] == 0x0A) { break }
                    if b >= 0x80, lineNonASCII == nil { lineNonASCII = p }
                    p += 1
                }
                pos = p
                continue
            }
            defer { space = false }
            if c == 0x5F || isLetter(at: pos) {
                let start = pos
                // ASCII letters, digits and `_` in one tight scan (an identifier holds no line break);
                // non-ASCII text continues scalar by scalar, noting the line's first non-ASCII byte.
                var p = pos
                let n = bytes.count
                while p < n {
                    let b = bytes[p]
                    guard Lexer.isASCIILetter(b) || Lexer.isDigit(b) || b == 0x5F else { break }
                    p += 1
                }
                pos = p
                while pos < bytes.count, bytes[pos] >= 0x80, continuesIdentifier(at: pos) {
                    advanceScalar()
                    while pos < bytes.count, bytes[pos] < 0x80, continuesIdentifier(at: pos) { pos += 1 }
                }
                let s = String(decoding: bytes[start..<pos], as: UTF8.self)
                var asName = false
                let keyword = Lexer.isKeyword(bytes, start, pos)
                if keyword {
                    // A keyword touching a '.' of a reference is a plain name there (OPA allows keywords in refs).
                    let nextIsDotName =
                        pos + 1 < bytes.count && bytes[pos] == 0x2E && (isLetter(at: pos + 1) || bytes[pos + 1] == 0x5F)
                    var prevIsDot = false
                    if !space, let last = tokens.last, case .punct(".") = last.kind { prevIsDot = true }
                    asName = nextIsDotName || prevIsDot
                }
                var word: UInt64 = 0
                if pos - start <= 8 {
                    for i in stride(from: pos - 1, through: start, by: -1) { word = word << 8 | UInt64(bytes[i]) }
                }
                tokens.append(
                    Token(
                        kind: .ident(s), line: l, column: col, spaceBefore: space, keywordAsName: asName,
                        isKeyword: keyword, word: word))
                continue
            }
            if Lexer.isDigit(c) {
                let start = pos
                var sawDot = false
                while pos < bytes.count, Lexer.isDigit(bytes[pos]) || bytes[pos] == 0x2E {
                    if bytes[pos] == 0x2E {
                        // A dot followed by a non-digit ends the number (e.g. ref after number is invalid anyway).
                        guard Lexer.isDigit(byte(pos + 1)), !sawDot else { break }
                        sawDot = true
                    }
                    advance()
                }
                if pos < bytes.count, bytes[pos] == 0x65 || bytes[pos] == 0x45 {
                    var look = pos + 1
                    if byte(look) == 0x2B || byte(look) == 0x2D { look += 1 }
                    if Lexer.isDigit(byte(look)) {
                        while pos < look { advance() }
                        while pos < bytes.count, Lexer.isDigit(bytes[pos]) { advance() }
                    }
                }
                let s = String(decoding: bytes[start..<pos], as: UTF8.self)
                if pos < bytes.count, bytes[pos] == 0x5F || isLetter(at: pos) {
                    throw error("invalid number '\(s)\(character(at: pos))'", line: l, column: col)
                }
                tokens.append(Token(kind: .number(s), line: l, column: col, spaceBefore: space))
                continue
            }
            if c == 0x24, byte(pos + 1) == 0x22 || byte(pos + 1) == 0x60 {  // $" or $`
                advance()
                tokens.append(Token(kind: .template(try template()), line: l, column: col, spaceBefore: space))
                continue
            }
            if c == 0x22 {  // "
                advance()
                // The common string: no escape, on one line: one scan and one copy.
                var p = pos
                let n = bytes.count
                var firstNonASCII: Int? = nil
                while p < n {
                    let b = bytes[p]
                    if b == 0x22 || b == 0x5C || b == 0x0A { break }
                    if b >= 0x80, firstNonASCII == nil { firstNonASCII = p }
                    p += 1
                }
                if p < n, bytes[p] == 0x22 {
                    let text = String(decoding: bytes[pos..<p], as: UTF8.self)
                    if lineNonASCII == nil { lineNonASCII = firstNonASCII }
                    pos = p + 1
                    tokens.append(Token(kind: .string(text), line: l, column: col, spaceBefore: space))
                    continue
                }
                var s: [UInt8] = []
                while true {
                    guard pos < bytes.count, bytes[pos] != 0x0A else {
                        throw error("unterminated string: add the closing '\"' on the same line", line: l, column: col)
                    }
                    let d = bytes[pos]
                    if d == 0x22 {
                        advance()
                        break
                    }
                    if d == 0x5C {  // backslash
                        advance()
                        guard pos < bytes.count else { throw error("unterminated string", line: l, column: col) }
                        let escapeStart = pos
                        let e = bytes[pos]
                        switch e {
                        case 0x6E:
                            s.append(0x0A)
                            advance()
                        case 0x74:
                            s.append(0x09)
                            advance()
                        case 0x72:
                            s.append(0x0D)
                            advance()
                        case 0x62:
                            s.append(0x08)
                            advance()
                        case 0x66:
                            s.append(0x0C)
                            advance()
                        case 0x22, 0x5C, 0x2F:
                            s.append(e)
                            advance()
                        case 0x75:  // u
                            advance()
                            var code: UInt32 = 0
                            for _ in 0..<4 {
                                guard pos < bytes.count, let h = Lexer.hexValue(bytes[pos]) else {
                                    throw error("invalid \\u escape in string", line: line, column: column)
                                }
                                code = code * 16 + h
                                advance()
                            }
                            if code >= 0xD800, code < 0xDC00, pos + 5 < bytes.count, bytes[pos] == 0x5C,
                                bytes[pos + 1] == 0x75
                            {
                                var low: UInt32 = 0
                                var ok = true
                                for k in 0..<4 {
                                    guard let h = Lexer.hexValue(bytes[pos + 2 + k]) else {
                                        ok = false
                                        break
                                    }
                                    low = low * 16 + h
                                }
                                if ok, low >= 0xDC00, low < 0xE000 {
                                    for _ in 0..<6 { advance() }
                                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                                }
                            }
                            s.append(contentsOf: (Unicode.Scalar(code) ?? "\u{FFFD}").utf8)
                        default:
                            throw error(
                                "invalid escape sequence '\\\(character(at: escapeStart))' in string", line: line,
                                column: column(at: escapeStart) - 1)
                        }
                        continue
                    }
                    s.append(d)
                    advance()
                }
                tokens.append(
                    Token(kind: .string(String(decoding: s, as: UTF8.self)), line: l, column: col, spaceBefore: space))
                continue
            }
            if c == 0x60 {  // `
                advance()
                let start = pos
                while true {
                    guard pos < bytes.count else {
                        throw error("unterminated raw string: add the closing '`'", line: l, column: col)
                    }
                    if bytes[pos] == 0x60 { break }
                    advance()
                }
                let s = String(decoding: bytes[start..<pos], as: UTF8.self)
                advance()
                tokens.append(Token(kind: .string(s), line: l, column: col, spaceBefore: space))
                continue
            }
            if c < 0x80, Lexer.punctuation[Int(c)] {
                let d = byte(pos + 1)
                // := == != <= >=
                if d == 0x3D, c == 0x3A || c == 0x3D || c == 0x3C || c == 0x3E {
                    advance()
                    advance()
                    tokens.append(
                        Token(
                            kind: .punct(Lexer.twoCharPunct(c)), line: l, column: col, spaceBefore: space,
                            punct: UInt16(c) | UInt16(d) << 8))
                    continue
                }
                advance()
                tokens.append(
                    Token(
                        kind: .punct(Lexer.singlePunct[Int(c)]), line: l, column: col, spaceBefore: space,
                        punct: UInt16(c)))
                continue
            }
            if c == 0x21, byte(pos + 1) == 0x3D {  // !=
                advance()
                advance()
                tokens.append(Token(kind: .punct("!="), line: l, column: col, spaceBefore: space, punct: 0x3D21))
                continue
            }
            throw error("unexpected character '\(character(at: pos))'", line: l, column: col)
        }
        tokens.append(Token(kind: .eof, line: line, column: column, spaceBefore: false))
        return tokens
    }

    /// `:=`, `==`, `<=` or `>=`, by its first character (the second is `=`), without building a string.
    static func twoCharPunct(_ c: UInt8) -> String {
        switch c {
        case 0x3A: return ":="
        case 0x3D: return "=="
        case 0x3C: return "<="
        default: return ">="
        }
    }

    /// `Parser.keywords` as bytes, built once.
    static let keywordBytes: [[UInt8]] = Parser.keywords.map { Array($0.utf8) }

    /// True when `bytes[start..<end]` is one of `Parser.keywords`, without building a string or hashing.
    static func isKeyword(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Bool {
        let n = end - start
        guard n >= 2, n <= 8 else { return false }
        candidates: for k in keywordBytes where k.count == n && k[0] == bytes[start] {
            for i in 1..<n where k[i] != bytes[start + i] { continue candidates }
            return true
        }
        return false
    }

    /// One-character punctuation as strings, built once.
    static let singlePunct: [String] = (0..<128).map { String(UnicodeScalar(UInt8($0))) }

    // MARK: template strings

    /// Reads a template string whose opening quote is at `pos`.
    mutating func template() throws -> [TemplatePart] {
        let quote = bytes[pos], l = line, col = column
        advance()
        var parts: [TemplatePart] = []
        var text: [UInt8] = []
        while true {
            guard pos < bytes.count, quote == 0x60 || bytes[pos] != 0x0A else {
                throw error(
                    "unterminated template string: add the closing '\(Character(UnicodeScalar(quote)))'", line: l,
                    column: col)
            }
            let d = bytes[pos]
            if d == quote {
                advance()
                break
            }
            if d == 0x5C && quote == 0x22 || d == 0x5C && byte(pos + 1) == 0x7B {
                advance()
                guard pos < bytes.count else { throw error("unterminated template string", line: l, column: col) }
                let escapeStart = pos
                let e = bytes[pos]
                switch e {
                case 0x6E: text.append(0x0A)
                case 0x74: text.append(0x09)
                case 0x72: text.append(0x0D)
                case 0x62: text.append(0x08)
                case 0x66: text.append(0x0C)
                case 0x22, 0x5C, 0x2F, 0x7B, 0x7D: text.append(e)
                default:
                    throw error(
                        "invalid escape sequence '\\\(character(at: escapeStart))' in template string", line: line,
                        column: column(at: escapeStart) - 1)
                }
                advance()
                continue
            }
            if d == 0x7B {  // {
                if !text.isEmpty {
                    parts.append(.text(String(decoding: text, as: UTF8.self)))
                    text = []
                }
                let el = line, ec = column + 1
                advance()
                let start = pos
                try skipTemplateExpression(l, col)
                parts.append(.expr(String(decoding: bytes[start..<(pos - 1)], as: UTF8.self), line: el, column: ec))
                continue
            }
            text.append(d)
            advance()
        }
        if !text.isEmpty { parts.append(.text(String(decoding: text, as: UTF8.self))) }
        return parts
    }

    /// Skips to just after the `}` closing an embedded expression, over nested strings, templates and braces.
    mutating func skipTemplateExpression(_ l: Int, _ col: Int) throws {
        var depth = 1
        while pos < bytes.count {
            let c = bytes[pos]
            if c == 0x24, byte(pos + 1) == 0x22 || byte(pos + 1) == 0x60 {
                advance()
                _ = try template()
                continue
            }
            if c == 0x22 {
                advance()
                while pos < bytes.count, bytes[pos] != 0x22 {
                    if bytes[pos] == 0x5C { advance() }
                    if pos < bytes.count { advance() }
                }
                guard pos < bytes.count else { break }
                advance()
                continue
            }
            if c == 0x60 {
                advance()
                while pos < bytes.count, bytes[pos] != 0x60 { advance() }
                guard pos < bytes.count else { break }
                advance()
                continue
            }
            advance()
            if c == 0x7B { depth += 1 }
            if c == 0x7D {
                depth -= 1
                if depth == 0 { return }
            }
        }
        throw error("unterminated template expression: add the closing '}'", line: l, column: col)
    }
}
