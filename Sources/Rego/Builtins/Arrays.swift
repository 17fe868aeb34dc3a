extension Builtins {
    static func registerArrays(_ t: inout [String: Builtin]) {
        t["array.concat"] = Builtin(arity: 2) { a, _ in
            .array(try array("array.concat", a, 0) + array("array.concat", a, 1))
        }
        t["array.slice"] = Builtin(arity: 3) { a, _ in
            let arr = try array("array.slice", a, 0)
            var lo = try int("array.slice", a, 1), hi = try int("array.slice", a, 2)
            if lo < 0 { lo = 0 }
            if hi > arr.count { hi = arr.count }
            if lo >= hi { return .array([]) }
            return .array(Array(arr[lo..<hi]))
        }
        t["array.reverse"] = Builtin(arity: 1) { a, _ in .array(try array("array.reverse", a, 0).reversed()) }
        t["array.flatten"] = Builtin(arity: 1) { a, _ in
            // One level only, as OPA does.
            return .array(
                try array("array.flatten", a, 0).flatMap { x -> [RegoValue] in
                    if case .array(let inner) = x { return inner }
                    return [x]
                })
        }
    }
}
