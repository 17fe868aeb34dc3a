import Foundation

/// `json.patch` (RFC 6902 operations over Rego values, sets included, as OPA applies them)
/// and `regex.template_match`.
extension Builtins {
    static func registerJSONPatch(_ t: inout [String: Builtin]) {
        t["json.patch"] = Builtin(arity: 2) { a, _ in
            let fn = "json.patch"
            var target = a[0]
            for op in try array(fn, a, 1) {
                guard case .object(let o) = op else {
                    throw RegoError.typeError(
                        "\(fn): operand 2 must be array of objects but got array containing \(op.typeName)")
                }
                guard let next = JSONPatch.apply(o, to: target) else { return nil }
                target = next
            }
            return target
        }
        t["regex.template_match"] = Builtin(arity: 4) { a, _ in
            let fn = "regex.template_match"
            let template = try string(fn, a, 0), value = try string(fn, a, 1)
            let open = try string(fn, a, 2), close = try string(fn, a, 3)
            guard open.count == 1, close.count == 1 else {
                throw RegoError.builtin("\(fn): delimiters must be single characters")
            }
            var pattern = "^", rest = Substring(template)
            while let start = rest.firstIndex(of: open.first!) {
                pattern += NSRegularExpression.escapedPattern(for: String(rest[..<start]))
                guard let end = rest[start...].firstIndex(of: close.first!) else {
                    throw RegoError.builtin(
                        "\(fn): template \(RegoValue.string(template).jsonString()) has an unbalanced \(open)")
                }
                pattern += "(?:" + rest[rest.index(after: start)..<end] + ")"
                rest = rest[rest.index(after: end)...]
            }
            pattern += NSRegularExpression.escapedPattern(for: String(rest)) + "$"
            guard let re = try? NSRegularExpression(pattern: pattern) else {
                throw RegoError.builtin("\(fn): invalid regular expression in template")
            }
            return .bool(re.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil)
        }
    }
}

enum JSONPatch {
    /// The path of an operation: a JSON pointer string (leading `/` optional) or an array of keys.
    static func path(_ v: RegoValue?) -> [RegoValue]? {
        switch v {
        case .string(let s)?:
            if s.isEmpty { return [] }
            let body = s.hasPrefix("/") ? String(s.dropFirst()) : s
            return body.split(separator: "/", omittingEmptySubsequences: false).map {
                .string($0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~"))
            }
        case .array(let items)?: return items
        default: return nil
        }
    }

    static func index(_ key: RegoValue, count: Int, allowEnd: Bool) -> Int? {
        var i: Int?
        switch key {
        case .number(let n): i = n.intValue
        case .string(let s) where s.allSatisfy(\.isNumber) && !s.isEmpty && !(s.count > 1 && s.hasPrefix("0")):
            i = Int(s)
        default: i = nil
        }
        guard let i, i >= 0, allowEnd ? i <= count : i < count else { return nil }
        return i
    }

    static func get(_ v: RegoValue, _ path: ArraySlice<RegoValue>) -> RegoValue? {
        guard let key = path.first else { return v }
        switch v {
        case .object(let o): return o[key].flatMap { get($0, path.dropFirst()) }
        case .array(let items):
            return index(key, count: items.count, allowEnd: false).flatMap { get(items[$0], path.dropFirst()) }
        case .set(let s): return s.contains(key) ? get(key, path.dropFirst()) : nil
        default: return nil
        }
    }

    /// Applies `f` to the parent of the last key, rebuilding the values on the way back.
    static func update(_ v: RegoValue, _ path: ArraySlice<RegoValue>, _ f: (RegoValue, RegoValue) -> RegoValue?)
        -> RegoValue?
    {
        guard let key = path.first else { return nil }
        if path.count == 1 { return f(v, key) }
        switch v {
        case .object(var o):
            guard let child = o[key], let n = update(child, path.dropFirst(), f) else { return nil }
            o[key] = n
            return .object(o)
        case .array(var items):
            guard let i = index(key, count: items.count, allowEnd: false), let n = update(items[i], path.dropFirst(), f)
            else { return nil }
            items[i] = n
            return .array(items)
        case .set(var s):
            guard s.contains(key), let n = update(key, path.dropFirst(), f) else { return nil }
            s.remove(key)
            s.insert(n)
            return .set(s)
        default: return nil
        }
    }

    static func add(_ target: RegoValue, _ path: [RegoValue], _ value: RegoValue) -> RegoValue? {
        if path.isEmpty { return value }
        return update(target, path[...]) { parent, key in
            switch parent {
            case .object(var o):
                o[key] = value
                return .object(o)
            case .array(var items):
                if key == .string("-") {
                    items.append(value)
                    return .array(items)
                }
                guard let i = index(key, count: items.count, allowEnd: true) else { return nil }
                items.insert(value, at: i)
                return .array(items)
            case .set(var s):
                guard key == value else { return nil }
                s.insert(value)
                return .set(s)
            default: return nil
            }
        }
    }

    static func remove(_ target: RegoValue, _ path: [RegoValue]) -> RegoValue? {
        if path.isEmpty { return nil }
        return update(target, path[...]) { parent, key in
            switch parent {
            case .object(var o):
                guard o.removeValue(forKey: key) != nil else { return nil }
                return .object(o)
            case .array(var items):
                guard let i = index(key, count: items.count, allowEnd: false) else { return nil }
                items.remove(at: i)
                return .array(items)
            case .set(var s):
                guard s.remove(key) != nil else { return nil }
                return .set(s)
            default: return nil
            }
        }
    }

    static func apply(_ op: [RegoValue: RegoValue], to target: RegoValue) -> RegoValue? {
        guard case .string(let name)? = op[.string("op")], let p = path(op[.string("path")]) else { return nil }
        switch name {
        case "add":
            guard let v = op[.string("value")] else { return nil }
            return add(target, p, v)
        case "remove": return remove(target, p)
        case "replace":
            guard let v = op[.string("value")], get(target, p[...]) != nil else { return nil }
            if p.isEmpty { return v }
            return remove(target, p).flatMap { add($0, p, v) }
        case "move":
            guard let from = path(op[.string("from")]), let v = get(target, from[...]) else { return nil }
            return remove(target, from).flatMap { add($0, p, v) }
        case "copy":
            guard let from = path(op[.string("from")]), let v = get(target, from[...]) else { return nil }
            return add(target, p, v)
        case "test":
            guard let v = op[.string("value")], get(target, p[...]) == v else { return nil }
            return target
        default: return nil
        }
    }
}
