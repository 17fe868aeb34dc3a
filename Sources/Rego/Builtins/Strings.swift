import Foundation

extension Builtins {
    static func registerStrings(_ t: inout [String: Builtin]) {
        t["concat"] = Builtin(arity: 2) { a, _ in
            let sep = try string("concat", a, 0)
            let items = try collection("concat", a, 1, "one of {set, array}")
            return .string(try strings("concat", items, 1).joined(separator: sep))
        }
        t["contains"] = Builtin(arity: 2) { a, _ in
            let s = try string("contains", a, 0), sub = try string("contains", a, 1)
            return .bool(sub.isEmpty || s.contains(sub))
        }
        t["startswith"] = Builtin(arity: 2) { a, _ in
            .bool(try string("startswith", a, 0).utf8.starts(with: string("startswith", a, 1).utf8))
        }
        t["endswith"] = Builtin(arity: 2) { a, _ in
            .bool(try string("endswith", a, 0).utf8.reversed().starts(with: string("endswith", a, 1).utf8.reversed()))
        }
        t["lower"] = Builtin(arity: 1) { a, _ in .string(try string("lower", a, 0).lowercased()) }
        t["upper"] = Builtin(arity: 1) { a, _ in .string(try string("upper", a, 0).uppercased()) }
        t["indexof"] = Builtin(arity: 2) { a, _ in
            let s = Array(try string("indexof", a, 0).unicodeScalars),
                sub = Array(try string("indexof", a, 1).unicodeScalars)
            return .int(scalarIndex(s, sub, from: 0) ?? -1)
        }
        t["indexof_n"] = Builtin(arity: 2) { a, _ in
            let s = Array(try string("indexof_n", a, 0).unicodeScalars),
                sub = Array(try string("indexof_n", a, 1).unicodeScalars)
            var out: [RegoValue] = []
            var from = 0
            while let i = scalarIndex(s, sub, from: from) {
                out.append(.int(i))
                from = i + 1
            }
            return .array(out)
        }
        t["replace"] = Builtin(arity: 3) { a, _ in
            let s = try string("replace", a, 0), old = try string("replace", a, 1), new = try string("replace", a, 2)
            return .string(goReplace(s, old, new, -1))
        }
        t["strings.replace_n"] = Builtin(arity: 2) { a, _ in
            guard case .object(let patterns) = a[0] else { throw typeError("strings.replace_n", 1, "object", a[0]) }
            var s = try string("strings.replace_n", a, 1)
            var pairs: [(String, String)] = []
            for (k, v) in patterns.sorted(by: { $0.key < $1.key }) {
                guard case .string(let ks) = k else {
                    throw RegoError.typeError("strings.replace_n: operand 1 non-string key found in pattern object")
                }
                guard case .string(let vs) = v else {
                    throw RegoError.typeError("strings.replace_n: operand 1 non-string value found in pattern object")
                }
                pairs.append((ks, vs))
            }
            s = goReplacer(s, pairs)
            return .string(s)
        }
        t["split"] = Builtin(arity: 2) { a, _ in
            let s = try string("split", a, 0), sep = try string("split", a, 1)
            if sep.isEmpty { return .array(s.unicodeScalars.map { .string(String($0)) }) }
            return .array(s.components(separatedBy: sep).map { .string($0) })
        }
        t["substring"] = Builtin(arity: 3) { a, _ in
            let s = Array(try string("substring", a, 0).unicodeScalars)
            let start = try int("substring", a, 1), length = try int("substring", a, 2)
            if start < 0 { throw RegoError.builtin("substring: negative offset") }
            if start >= s.count { return .string("") }
            let end = length < 0 || length > s.count - start ? s.count : start + length
            var out = String.UnicodeScalarView()
            out.append(contentsOf: s[start..<end])
            return .string(String(out))
        }
        func trimmer(_ name: String, _ f: @escaping (String, Set<Unicode.Scalar>) -> String) {
            t[name] = Builtin(arity: 2) { a, _ in
                .string(f(try string(name, a, 0), Set(try string(name, a, 1).unicodeScalars)))
            }
        }
        trimmer("trim") { s, c in trimRight(trimLeft(s, c), c) }
        trimmer("trim_left") { s, c in trimLeft(s, c) }
        trimmer("trim_right") { s, c in trimRight(s, c) }
        t["trim_prefix"] = Builtin(arity: 2) { a, _ in
            let s = try string("trim_prefix", a, 0), p = try string("trim_prefix", a, 1)
            return .string(s.hasPrefix(p) ? String(s.dropFirst(p.count)) : s)
        }
        t["trim_suffix"] = Builtin(arity: 2) { a, _ in
            let s = try string("trim_suffix", a, 0), p = try string("trim_suffix", a, 1)
            return .string(s.hasSuffix(p) ? String(s.dropLast(p.count)) : s)
        }
        t["trim_space"] = Builtin(arity: 1) { a, _ in
            .string(try string("trim_space", a, 0).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        t["strings.reverse"] = Builtin(arity: 1) { a, _ in
            var out = String.UnicodeScalarView()
            out.append(contentsOf: try string("strings.reverse", a, 0).unicodeScalars.reversed())
            return .string(String(out))
        }
        t["strings.count"] = Builtin(arity: 2) { a, _ in
            let s = Array(try string("strings.count", a, 0).unicodeScalars),
                sub = Array(try string("strings.count", a, 1).unicodeScalars)
            if sub.isEmpty { return .int(s.count + 1) }
            var n = 0, from = 0
            while let i = scalarIndex(s, sub, from: from) {
                n += 1
                from = i + sub.count
            }
            return .int(n)
        }
        func anyMatch(_ name: String, _ f: @escaping (String, String) -> Bool) {
            t[name] = Builtin(arity: 2) { a, _ in
                func list(_ i: Int) throws -> [String] {
                    switch a[i] {
                    case .string(let s): return [s]
                    case .array(let x): return try strings(name, x, i)
                    case .set: return try strings(name, a[i].sortedElements, i)
                    default: throw typeError(name, i + 1, "one of {string, set, array}", a[i])
                    }
                }
                let xs = try list(0), ys = try list(1)
                return .bool(xs.contains { x in ys.contains { y in f(x, y) } })
            }
        }
        anyMatch("strings.any_prefix_match") { $0.hasPrefix($1) }
        anyMatch("strings.any_suffix_match") { $0.hasSuffix($1) }
        t["sprintf"] = Builtin(arity: 2) { a, _ in
            let format = try string("sprintf", a, 0)
            let args = try array("sprintf", a, 1)
            return .string(GoFormat.sprintf(format, args))
        }
    }

    static func scalarIndex(_ s: [Unicode.Scalar], _ sub: [Unicode.Scalar], from: Int) -> Int? {
        if sub.isEmpty { return from <= s.count ? from : nil }
        guard s.count >= sub.count else { return nil }
        var i = from
        while i + sub.count <= s.count {
            if s[i] == sub[0], Array(s[i..<i + sub.count]) == sub { return i }
            i += 1
        }
        return nil
    }

    static func trimLeft(_ s: String, _ cut: Set<Unicode.Scalar>) -> String {
        var v = s.unicodeScalars[...]
        while let f = v.first, cut.contains(f) { v = v.dropFirst() }
        return String(String.UnicodeScalarView(v))
    }
    static func trimRight(_ s: String, _ cut: Set<Unicode.Scalar>) -> String {
        var v = s.unicodeScalars[...]
        while let l = v.last, cut.contains(l) { v = v.dropLast() }
        return String(String.UnicodeScalarView(v))
    }

    /// Go's strings.Replace (n < 0: all), byte-oriented; empty `old` inserts between scalars.
    static func goReplace(_ s: String, _ old: String, _ new: String, _ n: Int) -> String {
        if old.isEmpty {
            var out = new
            for c in s.unicodeScalars {
                out.unicodeScalars.append(c)
                out += new
            }
            return out
        }
        return s.replacingOccurrences(of: old, with: new, options: .literal)
    }

    /// Go's strings.NewReplacer: at each position the first matching pattern (in argument order) wins.
    static func goReplacer(_ s: String, _ pairs: [(String, String)]) -> String {
        let src = Array(s.utf8)
        let pats = pairs.map { (Array($0.0.utf8), $0.1) }
        var out = [UInt8]()
        var i = 0
        outer: while i <= src.count {
            for (p, r) in pats where !p.isEmpty {
                if i + p.count <= src.count, Array(src[i..<i + p.count]) == p {
                    out.append(contentsOf: Array(r.utf8))
                    i += p.count
                    continue outer
                }
            }
            if i < src.count { out.append(src[i]) }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
