extension Builtins {
    static func registerObjects(_ t: inout [String: Builtin]) {
        t["object.get"] = Builtin(arity: 3) { a, _ in
            let obj = try object("object.get", a, 0)
            if case .array(let path) = a[1] {
                var cur = RegoValue.object(obj)
                for k in path {
                    guard let next = RegoValue.index(cur, k), !isSetOrArrayMiss(cur) else { return a[2] }
                    cur = next
                }
                return cur
            }
            return obj[a[1]] ?? a[2]
        }
        t["object.keys"] = Builtin(arity: 1) { a, _ in .set(Set(try object("object.keys", a, 0).keys)) }
        t["object.remove"] = Builtin(arity: 2) { a, _ in
            var obj = try object("object.remove", a, 0)
            let keys: [RegoValue]
            switch a[1] {
            case .array(let x): keys = x
            case .set(let s): keys = Array(s)
            case .object(let o): keys = Array(o.keys)
            default: throw typeError("object.remove", 2, "one of {object, set, array}", a[1])
            }
            for k in keys { obj.removeValue(forKey: k) }
            return .object(obj)
        }
        t["object.filter"] = Builtin(arity: 2) { a, _ in
            let obj = try object("object.filter", a, 0)
            let keys: [RegoValue]
            switch a[1] {
            case .array(let x): keys = x
            case .set(let s): keys = Array(s)
            case .object(let o): keys = Array(o.keys)
            default: throw typeError("object.filter", 2, "one of {object, set, array}", a[1])
            }
            var out: [RegoValue: RegoValue] = [:]
            for k in keys { if let v = obj[k] { out[k] = v } }
            return .object(out)
        }
        t["object.union"] = Builtin(arity: 2) { a, _ in
            let x = try object("object.union", a, 0), y = try object("object.union", a, 1)
            return mergeUnion(.object(x), .object(y))
        }
        t["object.union_n"] = Builtin(arity: 1) { a, _ in
            let list = try array("object.union_n", a, 0)
            var result = RegoValue.object([:])
            for v in list {
                guard case .object = v else {
                    throw RegoError.typeError(
                        "object.union_n: operand 1 must be array of objects but got array containing \(v.typeName)")
                }
                result = mergeUnion(result, v)
            }
            return result
        }
        t["object.subset"] = Builtin(arity: 2) { a, _ in
            if case .set = a[0], case .array = a[1] {
                throw RegoError.typeError(
                    "object.subset: both arguments must be of the same type or array and set, got set and array")
            }
            return .bool(isSubset(a[0], a[1]))
        }
        t["json.filter"] = Builtin(arity: 2) { a, _ in
            let obj = try object("json.filter", a, 0)
            let paths = try jsonPaths("json.filter", a[1])
            return filterPaths(.object(obj), paths)
        }
        t["json.remove"] = Builtin(arity: 2) { a, _ in
            let obj = try object("json.remove", a, 0)
            let paths = try jsonPaths("json.remove", a[1])
            var v = RegoValue.object(obj)
            for p in paths { v = removePath(v, p[...]) }
            return v
        }
    }

    static func isSetOrArrayMiss(_ v: RegoValue) -> Bool { false }

    /// object.union: right wins, objects merge recursively.
    static func mergeUnion(_ a: RegoValue, _ b: RegoValue) -> RegoValue {
        guard case .object(var x) = a, case .object(let y) = b else { return b }
        for (k, v) in y {
            if let existing = x[k] { x[k] = mergeUnion(existing, v) } else { x[k] = v }
        }
        return .object(x)
    }

    static func isSubset(_ sup: RegoValue, _ sub: RegoValue) -> Bool {
        switch (sup, sub) {
        case (.object(let x), .object(let y)):
            return y.allSatisfy { k, v in x[k].map { isSubset($0, v) } ?? false }
        case (.set(let x), .set(let y)): return y.isSubset(of: x)
        case (.array(let x), .set(let y)): return y.isSubset(of: Set(x))
        case (.array(let x), .array(let y)):
            if y.isEmpty { return true }
            guard y.count <= x.count else { return false }
            for start in 0...(x.count - y.count) where Array(x[start..<start + y.count]) == y { return true }
            return false
        default: return sup == sub
        }
    }

    static func jsonPaths(_ fn: String, _ v: RegoValue) throws -> [[RegoValue]] {
        let items: [RegoValue]
        switch v {
        case .array(let x): items = x
        case .set: items = v.sortedElements
        default: throw typeError(fn, 2, "one of {set, array}", v)
        }
        return try items.map { p in
            switch p {
            case .string(let s):
                return s.split(separator: "/", omittingEmptySubsequences: false).drop(while: { $0.isEmpty }).map {
                    .string($0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~"))
                }
            case .array(let parts): return parts
            default:
                throw RegoError.typeError(
                    """
                    \(fn): operand 2 must be one of {set, array} containing string paths or array of path \
                    segments but got \(p.typeName)
                    """
                )
            }
        }
    }

    static func filterPaths(_ v: RegoValue, _ paths: [[RegoValue]]) -> RegoValue {
        if paths.contains(where: { $0.isEmpty }) { return v }
        switch v {
        case .object(let o):
            var out: [RegoValue: RegoValue] = [:]
            for (k, child) in o {
                let sub = paths.filter { $0.first.map { keyMatches($0, k) } ?? false }.map { Array($0.dropFirst()) }
                if !sub.isEmpty { out[k] = filterPaths(child, sub) }
            }
            return .object(out)
        case .array(let items):
            var out: [RegoValue] = []
            for (i, child) in items.enumerated() {
                let sub = paths.filter { $0.first.map { keyMatches($0, .int(i)) } ?? false }.map {
                    Array($0.dropFirst())
                }
                if !sub.isEmpty { out.append(filterPaths(child, sub)) }
            }
            return .array(out)
        case .set(let s):
            var out = Set<RegoValue>()
            for child in s {
                let sub = paths.filter { $0.first.map { keyMatches($0, child) } ?? false }.map { Array($0.dropFirst()) }
                if !sub.isEmpty { out.insert(filterPaths(child, sub)) }
            }
            return .set(out)
        default: return v
        }
    }

    static func keyMatches(_ pathKey: RegoValue, _ key: RegoValue) -> Bool {
        if pathKey == key { return true }
        if case .string(let s) = pathKey, case .number(let n) = key { return s == n.description }
        return false
    }

    static func removePath(_ v: RegoValue, _ path: ArraySlice<RegoValue>) -> RegoValue {
        guard let first = path.first else { return v }
        switch v {
        case .object(var o):
            guard let key = o.keys.first(where: { keyMatches(first, $0) }) else { return v }
            if path.count == 1 { o.removeValue(forKey: key) } else { o[key] = removePath(o[key]!, path.dropFirst()) }
            return .object(o)
        case .array(var items):
            guard let i = items.indices.first(where: { keyMatches(first, .int($0)) }) else { return v }
            if path.count == 1 { items.remove(at: i) } else { items[i] = removePath(items[i], path.dropFirst()) }
            return .array(items)
        case .set(var s):
            guard let key = s.first(where: { keyMatches(first, $0) }) else { return v }
            s.remove(key)
            if path.count > 1 { s.insert(removePath(key, path.dropFirst())) }
            return .set(s)
        default: return v
        }
    }
}
