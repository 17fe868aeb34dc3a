import Foundation

/// `graph.reachable` and `graph.reachable_paths` over an adjacency object (node → array or set of neighbours).
extension Builtins {
    static func registerGraph(_ t: inout [String: Builtin]) {
        /// Neighbours in OPA's order: arrays as given, sets sorted; anything else has none.
        func vertices(_ v: RegoValue) -> [RegoValue] {
            switch v {
            case .array(let a): return a
            case .set: return v.sortedElements
            default: return []
            }
        }
        t["graph.reachable"] = Builtin(arity: 2) { a, ev in
            let fn = "graph.reachable"
            let graph = try object(fn, a, 0)
            _ = try collection(fn, a, 1)
            var queue = vertices(a[1])[...]
            var reached = Set<RegoValue>()
            while let node = queue.popFirst() {
                try ev.tick()
                guard let edges = graph[node], !reached.contains(node) else { continue }
                for n in vertices(edges) where !reached.contains(n) { queue.append(n) }
                reached.insert(node)
            }
            return .set(reached)
        }
        t["graph.reachable_paths"] = Builtin(arity: 2) { a, ev in
            let fn = "graph.reachable_paths"
            let graph = try object(fn, a, 0)
            _ = try collection(fn, a, 1)
            var result = Set<RegoValue>()
            // Recursion as deep as the longest path: guarded like the evaluator's own.
            func build(_ root: RegoValue, _ path: [RegoValue], _ reached: inout Set<RegoValue>) throws {
                try ev.checkStack()
                try ev.charge(path.count)
                guard let edges = graph[root], !vertices(edges).isEmpty else {
                    result.insert(.array(path))
                    return
                }
                for n in vertices(edges) {
                    // A neighbour missing from the graph ends the path before it.
                    if reached.contains(n) || graph[n] == nil {
                        result.insert(.array(path))
                    } else {
                        reached.insert(root)
                        try build(n, path + [n], &reached)
                    }
                }
            }
            for node in vertices(a[1]) {
                guard let edges = graph[node] else { continue }
                if vertices(edges).isEmpty {
                    result.insert(.array([node]))
                } else {
                    var reached = Set<RegoValue>()
                    try build(node, [node], &reached)
                }
            }
            return .set(result)
        }
    }
}
