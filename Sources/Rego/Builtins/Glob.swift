import Foundation

/// `glob.match` and `glob.quote_meta`, with the syntax of the Go glob library OPA uses:
/// `*` (any run without delimiters), `**` (any run), `?`, `[abc]`, `[!a-c]`, `{a,b}` and `\` escapes.
extension Builtins {
    static func registerGlob(_ t: inout [String: Builtin]) {
        t["glob.match"] = Builtin(arity: 3) { a, ev in
            let fn = "glob.match"
            let pattern = try string(fn, a, 0)
            var delimiters: [Character]
            switch a[1] {
            case .null: delimiters = []
            case .array(let items):
                delimiters = try items.map {
                    guard case .string(let s) = $0, s.count == 1 else {
                        throw RegoError.typeError(
                            "\(fn): operand 2 must be array of single-character strings but got \($0.jsonString())")
                    }
                    return s.first!
                }
                if delimiters.isEmpty { delimiters = ["."] }
            default: throw typeError(fn, 2, "array", a[1])
            }
            let match = try string(fn, a, 2)
            let regex = try Glob.regex(pattern, delimiters: delimiters)
            let range = NSRange(match.startIndex..., in: match)
            return .bool(
                try regexMatches(regex, match, ev, options: [.anchored], range: range, limit: 1).first.map {
                    $0.range == range
                } ?? false)
        }
        t["glob.quote_meta"] = Builtin(arity: 1) { a, _ in
            var out = ""
            for c in try string("glob.quote_meta", a, 0) {
                if "*?\\[]{}".contains(c) { out.append("\\") }
                out.append(c)
            }
            return .string(out)
        }
    }
}

enum Glob {
    private static let cache = NSCache<NSString, NSRegularExpression>()

    /// The glob as an anchored regular expression; throws `eval_builtin_error` on a malformed glob.
    static func regex(_ pattern: String, delimiters: [Character]) throws -> NSRegularExpression {
        let key = "\(String(delimiters))\u{0}\(pattern)" as NSString
        if let hit = cache.object(forKey: key) { return hit }
        var chars = Array(pattern)[...]
        let source = try translate(&chars, delimiters: delimiters, inAlternative: false)
        guard chars.isEmpty else {
            throw RegoError.builtin("glob.match: unexpected \(chars.first!) in glob \(pattern)")
        }
        let r = try NSRegularExpression(pattern: "^(?:" + source + ")$", options: [.dotMatchesLineSeparators])
        cache.setObject(r, forKey: key)
        return r
    }

    static func escape(_ c: Character) -> String { NSRegularExpression.escapedPattern(for: String(c)) }

    static func translate(_ p: inout ArraySlice<Character>, delimiters: [Character], inAlternative: Bool) throws
        -> String
    {
        let notDelim = delimiters.isEmpty ? "." : "[^" + delimiters.map { escape($0) }.joined() + "]"
        var out = ""
        while let c = p.first {
            if inAlternative && (c == "," || c == "}") { return out }
            p.removeFirst()
            switch c {
            case "*":
                if p.first == "*" {
                    p.removeFirst()
                    out += ".*"
                } else {
                    out += notDelim + "*"
                }
            case "?": out += notDelim
            case "\\":
                guard let n = p.first else { throw RegoError.builtin("glob.match: unexpected end of input after \\") }
                p.removeFirst()
                out += escape(n)
            case "[":
                var negate = false
                if p.first == "!" {
                    negate = true
                    p.removeFirst()
                }
                var cls = ""
                var closed = false
                while let x = p.first {
                    p.removeFirst()
                    if x == "]" {
                        closed = true
                        break
                    }
                    if x == "-" && !cls.isEmpty && p.first != "]" {
                        cls += "-"
                        continue
                    }
                    cls += escape(x)
                }
                guard closed, !cls.isEmpty else { throw RegoError.builtin("glob.match: unterminated character class") }
                out += "[" + (negate ? "^" : "") + cls + "]"
            case "{":
                var alternatives: [String] = []
                while true {
                    alternatives.append(try translate(&p, delimiters: delimiters, inAlternative: true))
                    guard let x = p.first else { throw RegoError.builtin("glob.match: unterminated alternatives {") }
                    p.removeFirst()
                    if x == "}" { break }
                }
                out += "(?:" + alternatives.joined(separator: "|") + ")"
            default: out += escape(c)
            }
        }
        return out
    }
}
