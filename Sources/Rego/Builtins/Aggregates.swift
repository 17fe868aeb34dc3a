extension Builtins {
    static func registerAggregates(_ t: inout [String: Builtin]) {
        t["count"] = Builtin(arity: 1) { a, _ in
            switch a[0] {
            case .array(let x): return .int(x.count)
            case .set(let x): return .int(x.count)
            case .object(let x): return .int(x.count)
            case .string(let s): return .int(s.unicodeScalars.count)
            default: throw typeError("count", 1, "one of {array, object, set, string}", a[0])
            }
        }
        t["sum"] = Builtin(arity: 1) { a, _ in
            var total = RegoNumber(0)
            for v in try collection("sum", a, 0) {
                guard case .number(let n) = v else {
                    throw RegoError.typeError(
                        """
                        sum: operand 1 must be one of {set[number], array[number]} but got \(a[0].typeName) \
                        containing \(v.typeName)
                        """
                    )
                }
                total = total + n
            }
            return .number(total)
        }
        t["product"] = Builtin(arity: 1) { a, _ in
            var total = RegoNumber(1)
            for v in try collection("product", a, 0) {
                guard case .number(let n) = v else {
                    throw RegoError.typeError(
                        """
                        product: operand 1 must be one of {set[number], array[number]} but got \(a[0].typeName) \
                        containing \(v.typeName)
                        """
                    )
                }
                total = total * n
            }
            return .number(total)
        }
        t["max"] = Builtin(arity: 1) { a, _ in try collection("max", a, 0).max() }
        t["min"] = Builtin(arity: 1) { a, _ in try collection("min", a, 0).min() }
        t["sort"] = Builtin(arity: 1) { a, _ in .array(try collection("sort", a, 0).sorted()) }
        t["all"] = Builtin(arity: 1) { a, _ in .bool(try collection("all", a, 0).allSatisfy { $0 == .bool(true) }) }
        t["any"] = Builtin(arity: 1) { a, _ in .bool(try collection("any", a, 0).contains(.bool(true))) }
        t["intersection"] = Builtin(arity: 1) { a, _ in
            let sets = try set("intersection", a, 0)
            var result: Set<RegoValue>? = nil
            for s in sets {
                guard case .set(let x) = s else {
                    throw RegoError.typeError(
                        "intersection: operand 1 must be set of sets but got set containing \(s.typeName)")
                }
                result = result.map { $0.intersection(x) } ?? x
            }
            return .set(result ?? [])
        }
        t["union"] = Builtin(arity: 1) { a, _ in
            var result = Set<RegoValue>()
            for s in try set("union", a, 0) {
                guard case .set(let x) = s else {
                    throw RegoError.typeError(
                        "union: operand 1 must be set of sets but got set containing \(s.typeName)")
                }
                result.formUnion(x)
            }
            return .set(result)
        }
    }
}
