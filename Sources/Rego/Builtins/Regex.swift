import Foundation

/// Compiled regular expressions, shared across evaluations (patterns are usually constants).
final class RegexCache: @unchecked Sendable {
    static let shared = RegexCache()
    private let lock = NSLock()
    private var cache: [String: NSRegularExpression] = [:]

    func regex(_ pattern: String, _ fn: String) throws -> NSRegularExpression {
        lock.lock()
        if let r = cache[pattern] {
            lock.unlock()
            return r
        }
        lock.unlock()
        guard let r = try? NSRegularExpression(pattern: Self.translate(pattern), options: []) else {
            throw RegoError.builtin("\(fn): error parsing regexp: invalid pattern: `\(pattern)`")
        }
        lock.lock()
        if cache.count > 1000 { cache.removeAll() }
        cache[pattern] = r
        lock.unlock()
        return r
    }

    /// RE2 → ICU differences that matter in practice: `(?P<name>` groups and `\z`.
    static func translate(_ p: String) -> String {
        p.replacingOccurrences(of: "(?P<", with: "(?<").replacingOccurrences(of: "\\z", with: "$(?![\\s\\S])")
    }
}

extension Builtins {
    static func nsRange(_ s: String) -> NSRange { NSRange(s.startIndex..<s.endIndex, in: s) }
    static func substring(_ s: String, _ r: NSRange) -> String {
        guard r.location != NSNotFound, let range = Range(r, in: s) else { return "" }
        return String(s[range])
    }

    /// The matches of `r` in `s` (at most `limit` when not negative), within the evaluation's
    /// time budget: ICU calls back with progress during a long match (`.reportProgress`), so a
    /// pattern that backtracks catastrophically stops near the budget with `eval_limit_error`.
    static func regexMatches(
        _ r: NSRegularExpression, _ s: String, _ ev: Evaluator, options: NSRegularExpression.MatchingOptions = [],
        range: NSRange? = nil, limit: Int = -1
    ) throws -> [NSTextCheckingResult] {
        var out: [NSTextCheckingResult] = []
        var timedOut = false
        var calls = 0
        r.enumerateMatches(in: s, options: options.union(.reportProgress), range: range ?? nsRange(s)) { m, _, stop in
            if let m {
                out.append(m)
                if limit >= 0 && out.count >= limit {
                    stop.pointee = true
                    return
                }
            }
            calls += 1
            if calls & 15 == 0 || m == nil, ev.pastDeadline {
                timedOut = true
                stop.pointee = true
            }
        }
        if timedOut { throw Evaluator.timeLimitError }
        return out
    }

    static func registerRegex(_ t: inout [String: Builtin]) {
        t["regex.match"] = Builtin(arity: 2) { a, ev in
            let p = try string("regex.match", a, 0), s = try string("regex.match", a, 1)
            if p.isEmpty { return .bool(true) }
            let r = try RegexCache.shared.regex(p, "regex.match")
            return .bool(!(try regexMatches(r, s, ev, limit: 1)).isEmpty)
        }
        t["re_match"] = t["regex.match"]
        t["regex.is_valid"] = Builtin(arity: 1) { a, _ in
            guard case .string(let p) = a[0] else { return .bool(false) }
            return .bool((try? RegexCache.shared.regex(p, "regex.is_valid")) != nil)
        }
        t["regex.find_n"] = Builtin(arity: 3) { a, ev in
            let p = try string("regex.find_n", a, 0), s = try string("regex.find_n", a, 1),
                n = try int("regex.find_n", a, 2)
            let r = try RegexCache.shared.regex(p, "regex.find_n")
            var out: [RegoValue] = []
            for m in try regexMatches(r, s, ev) {
                if n >= 0 && out.count >= n { break }
                out.append(.string(substring(s, m.range)))
            }
            return .array(out)
        }
        t["regex.find_all_string_submatch_n"] = Builtin(arity: 3) { a, ev in
            let p = try string("regex.find_all_string_submatch_n", a, 0),
                s = try string("regex.find_all_string_submatch_n", a, 1)
            let n = try int("regex.find_all_string_submatch_n", a, 2)
            let r = try RegexCache.shared.regex(p, "regex.find_all_string_submatch_n")
            var out: [RegoValue] = []
            for m in try regexMatches(r, s, ev) {
                if n >= 0 && out.count >= n { break }
                out.append(.array((0..<m.numberOfRanges).map { .string(substring(s, m.range(at: $0))) }))
            }
            return .array(out)
        }
        t["regex.split"] = Builtin(arity: 2) { a, ev in
            let p = try string("regex.split", a, 0), s = try string("regex.split", a, 1)
            let r = try RegexCache.shared.regex(p, "regex.split")
            var out: [RegoValue] = []
            var last = s.startIndex
            for m in try regexMatches(r, s, ev) {
                guard let range = Range(m.range, in: s) else { continue }
                if range.isEmpty && range.lowerBound == s.startIndex { continue }
                out.append(.string(String(s[last..<range.lowerBound])))
                last = range.upperBound
            }
            out.append(.string(String(s[last...])))
            return .array(out)
        }
        t["regex.replace"] = Builtin(arity: 3) { a, ev in
            let s = try string("regex.replace", a, 0), p = try string("regex.replace", a, 1),
                rep = try string("regex.replace", a, 2)
            let r = try RegexCache.shared.regex(p, "regex.replace")
            // Go's ${1} / $1 / $name expansion → ICU's $1; literal text otherwise.
            let template = goTemplate(rep)
            // Matched once within the budget first: the replacement matches again, as long.
            _ = try regexMatches(r, s, ev)
            return .string(r.stringByReplacingMatches(in: s, range: nsRange(s), withTemplate: template))
        }
    }

    static func goTemplate(_ rep: String) -> String {
        var out = ""
        let c = Array(rep)
        var i = 0
        while i < c.count {
            if c[i] == "\\" {
                out += "\\\\"
                i += 1
                continue
            }
            if c[i] == "$" {
                if i + 1 < c.count, c[i + 1] == "$" {
                    out += "\\$"
                    i += 2
                    continue
                }
                if i + 1 < c.count, c[i + 1] == "{", let close = c[(i + 2)...].firstIndex(of: "}") {
                    let name = String(c[(i + 2)..<close])
                    out += Int(name) != nil ? "$\(name)" : "${\(name)}"
                    i = close + 1
                    continue
                }
                var j = i + 1
                while j < c.count, c[j].isNumber || c[j].isLetter || c[j] == "_" { j += 1 }
                let name = String(c[(i + 1)..<j])
                if name.isEmpty {
                    out += "\\$"
                    i += 1
                    continue
                }
                if Int(name) != nil { out += "$\(name)" } else { out += "" }
                i = j
                continue
            }
            out.append(c[i])
            i += 1
        }
        return out
    }
}
