import Foundation

/// Variable bindings of one evaluation path: a persistent list, newest binding first.
///
/// Binding a variable adds one node in front and shares the rest, so an environment is never
/// copied (a dictionary was copied whole on every binding of every solution). A variable is
/// bound once per path, and a body binds a handful, so a lookup walks a few nodes comparing
/// names (short names compare as two words).
struct Env: ExpressibleByDictionaryLiteral {
    final class Node {
        let name: String
        let value: RegoValue
        let next: Node?
        init(_ name: String, _ value: RegoValue, _ next: Node?) {
            self.name = name
            self.value = value
            self.next = next
        }
    }
    var head: Node?

    init() { head = nil }
    init(dictionaryLiteral elements: (String, RegoValue)...) {
        head = nil
        for (k, v) in elements { head = Node(k, v, head) }
    }

    /// The value bound to `name`; setting binds it (a variable is bound at most once per path).
    subscript(name: String) -> RegoValue? {
        get {
            var n = head
            while let node = n {
                if node.name == name { return node.value }
                n = node.next
            }
            return nil
        }
        set {
            if let newValue { head = Node(name, newValue, head) }
        }
    }
}

/// A value a term produced, with the bindings that produced it.
typealias Solution = (value: RegoValue, env: Env)

/// The evaluator: OPA's top-down semantics without continuations.
///
/// Design (see docs/rego.md, "Evaluator"): every step takes one binding environment and
/// appends all of its solutions to an output array; a body runs depth-first on an explicit
/// stack of choice points (one frame per expression). There are no continuation
/// closures, so the optimiser compiles every method (no `@_optimize(none)`), and native
/// recursion follows only the structure of the program: the nesting of one term (bounded
/// by the parser's depth limit), the length of one reference or pattern, and the chain of
/// rules and functions that depend on each other (bounded by `maxDepth`, and recursion is
/// an error). Neither the data, nor the number of solutions, nor the length of a body
/// deepens the native stack. `StackGuard` still checks the real stack at every rule and
/// function call and at every nested term, so an unforeseen depth is an `eval_limit_error`,
/// never a crash, on any thread and with the default stack size.
///
/// One evaluator serves one query (it caches virtual documents), so it is not
/// shared between threads; `RegoEngine` creates one per call.
final class Evaluator {
    let program: Program
    let strict: Bool
    /// The deadline on the monotonic clock (`DispatchTime` nanoseconds); 0 for none.
    let deadlineNanos: UInt64
    /// Rule and function calls nested deeper than this stop with `eval_limit_error`.
    let maxDepth = 1_000
    var depth = 0
    var steps = 0
    let stack = StackGuard()

    /// Documents of rule-tree nodes computed so far, per `with` state, by node index
    /// (`RuleNode.index`): slots allocated on first use, so a `with` state that computes no
    /// document costs no array.
    final class Cache {
        enum Slot { case empty, inProgress, done(RegoValue?) }
        var slots: [Slot] = []
    }

    struct State {
        var input: RegoValue?
        var dataOverrides: [(path: [String], value: RegoValue)] = []
        var functionOverrides: [String: With] = [:]
        var functionOverrideValues: [String: FunctionMock] = [:]
        var cache = Cache()
    }

    enum FunctionMock {
        case value(RegoValue)
        case function([String])
    }

    var state: State
    /// Fixed time for `time.now_ns` within one query, as OPA does.
    lazy var now: Date = Date()

    init(program: Program, input: RegoValue?, strict: Bool, deadline: Date?) {
        self.program = program
        self.strict = strict
        if let deadline {
            let left = deadline.timeIntervalSinceNow
            let now = DispatchTime.now().uptimeNanoseconds
            self.deadlineNanos = left <= 0 ? max(1, now) : now &+ UInt64(min(left, 1e9) * 1e9)
        } else {
            self.deadlineNanos = 0
        }
        self.state = State(input: input)
    }

    // MARK: limits

    @inline(__always)
    func checkStack() throws {
        if stack.exhausted() {
            throw RegoError(
                code: "eval_limit_error",
                message:
                    """
                    evaluation nested too deeply for the thread's stack (unbounded recursion?): simplify the \
                    policy or evaluate on a thread with a larger stack
                    """
            )
        }
    }

    /// One evaluation step: counts it and reads the monotonic clock every 256 steps.
    ///
    /// Every loop of the evaluator ticks once per iteration (each expression, each solution,
    /// each element of a collection it walks, each combination of a call's arguments), and so
    /// do the builtins that build large values, so no loop can run long between two reads of
    /// the clock, whatever the policy generates.
    @inline(__always)
    func tick() throws {
        steps &+= 1
        if steps & 255 == 0, deadlineNanos != 0 { try checkDeadline() }
    }

    /// Charges `units` steps of work done outside the evaluator's own loops (a builtin's),
    /// reading the clock whenever the count crosses a multiple of 256, as `tick` does.
    @inline(__always)
    func charge(_ units: Int) throws {
        let before = steps
        steps &+= units
        if deadlineNanos != 0, (before >> 8) != (steps >> 8) { try checkDeadline() }
    }

    /// Whether the time budget is spent, read on the clock: for loops that cannot throw (a
    /// regular expression's progress callback), which stop and report it afterwards.
    var pastDeadline: Bool { deadlineNanos != 0 && DispatchTime.now().uptimeNanoseconds >= deadlineNanos }

    /// The error of a spent time budget.
    static var timeLimitError: RegoError {
        RegoError(code: "eval_limit_error", message: "evaluation exceeded its time limit")
    }

    /// The work a builtin's arguments or result stand for, from their top level only (O(1)):
    /// a step per 16 bytes of a string and per element of a collection.
    @inline(__always)
    static func workSize(_ v: RegoValue) -> Int {
        switch v {
        case .string(let s): return s.utf8.count >> 4
        case .array(let a): return a.count
        case .set(let x): return x.count
        case .object(let o): return o.count
        default: return 0
        }
    }

    /// Calls a builtin within the time budget. Large arguments are charged before the call (so a
    /// spent budget stops it before it starts) and a large result after it (with a read of the
    /// clock), so a chain of calls that doubles a value stops within about one call of its
    /// budget. Builtins whose own work is unbounded in their input (regular expressions, globs,
    /// graph walks, serialising a deeply shared value) also check the clock inside (see `Builtins`).
    @inline(__always)
    func callBuiltin(_ builtin: Builtin, _ values: [RegoValue]) throws -> RegoValue? {
        var size = 0
        for v in values { size &+= Self.workSize(v) }
        if size >= 256 { try charge(size) }
        let result = try builtin.fn(values, self)
        if let result {
            let out = Self.workSize(result)
            if size >= 256 || out >= 256 {
                try charge(out)
                if deadlineNanos != 0 { try checkDeadline() }
            }
        }
        return result
    }

    @inline(never)
    func checkDeadline() throws {
        if DispatchTime.now().uptimeNanoseconds >= deadlineNanos {
            throw RegoError(code: "eval_limit_error", message: "evaluation exceeded its time limit")
        }
    }

    func enter() throws {
        try checkStack()
        depth += 1
        if depth > maxDepth {
            depth -= 1
            throw RegoError(
                code: "eval_limit_error",
                message: "evaluation nested deeper than \(maxDepth) rule or function calls (unbounded recursion?)")
        }
    }

    // MARK: bodies

    func evalBody(_ body: Body, _ env: Env, limit: Int = .max) throws -> [Env] {
        try evalExprs(body.exprs, [env], limit: limit)
    }

    /// The solutions of a body from each start environment, depth-first, in OPA's order.
    ///
    /// An explicit stack of choice points: frame `i` holds the environments still to be run
    /// through expression `i` (the remaining solutions of expression `i - 1`), so memory is
    /// the sum of one expression's solutions per level, not their product, and the native
    /// stack does not grow with the body. Stops after `limit` solutions.
    func evalExprs(_ exprs: [Expr], _ start: [Env], limit: Int = .max) throws -> [Env] {
        if exprs.isEmpty { return start.count > limit ? Array(start.prefix(limit)) : start }
        var results: [Env] = []
        // A frame: the index of the next expression and the environments still to run through it.
        var frames: [(next: Int, envs: [Env])] = [(0, start.reversed())]
        frames.reserveCapacity(exprs.count + 1)
        // One buffer for every expression's solutions; an expression with exactly one solution
        // (most of them) goes straight on to the next, without a frame.
        var solutions: [Env] = []
        while !frames.isEmpty {
            let top = frames.count - 1
            guard var env = frames[top].envs.popLast() else {
                frames.removeLast()
                continue
            }
            var i = frames[top].next
            while true {
                try tick()
                if i == exprs.count {
                    results.append(env)
                    if results.count >= limit { return results }
                    break
                }
                solutions.removeAll(keepingCapacity: true)
                try evalExpr(exprs[i], env, &solutions)
                if solutions.count == 1 {
                    env = solutions.removeLast()
                    i += 1
                    continue
                }
                if !solutions.isEmpty { frames.append((i + 1, solutions.reversed())) }
                break
            }
        }
        return results
    }

    /// True when the body has at least one solution from `env`.
    func bodySucceeds(_ body: Body, _ env: Env) throws -> Bool {
        !(try evalBody(body, env, limit: 1)).isEmpty
    }

    func evalExpr(_ e: Expr, _ env: Env, _ out: inout [Env]) throws {
        if !e.withs.isEmpty {
            try evalWith(e, env, &out)
            return
        }
        if e.negated {
            var inner: [Env] = []
            try evalExprPlain(e, env, &inner)
            if inner.isEmpty { out.append(env) }
            return
        }
        try evalExprPlain(e, env, &out)
    }

    func evalExprPlain(_ e: Expr, _ env: Env, _ out: inout [Env]) throws {
        switch e.kind {
        case .term(let t):
            if isGround(t, env) {
                if let v = try evalGround(t, env), v.isTruthy { out.append(env) }
                return
            }
            var sols: [Solution] = []
            if case .call(let name, let args, let loc) = t {
                try evalCall(name, args, loc, env, &sols)
            } else {
                try evalTerm(t, env, &sols)
            }
            for s in sols where s.value.isTruthy { out.append(s.env) }
        case .unify(let a, let b), .assign(let a, let b):
            try unifyTerms(a, b, env, e.location, &out)
        case .some:
            out.append(env)
        case .someIn(let key, let value, let domain):
            var colls: [Solution] = []
            try evalTerm(domain, env, &colls)
            for (coll, env2) in colls {
                try forEachEntry(coll) { kv, vv in
                    if let key {
                        var keyed: [Env] = []
                        try unifyValue(key, kv, env2, &keyed)
                        for env3 in keyed { try unifyValue(value, vv, env3, &out) }
                    } else {
                        try unifyValue(value, vv, env2, &out)
                    }
                    return true
                }
            }
        case .every(let key, let value, let domain, let body):
            var colls: [Solution] = []
            try evalTerm(domain, env, &colls)
            for (coll, env2) in colls {
                switch coll {
                case .array, .set, .object: break
                default: continue  // `every` over a non-collection is undefined
                }
                var all = true
                try forEachEntry(coll) { kv, vv in
                    var bound: [Env] = []
                    if let key {
                        var keyed: [Env] = []
                        try unifyValue(key, kv, env2, &keyed)
                        for env3 in keyed { try unifyValue(value, vv, env3, &bound) }
                    } else {
                        try unifyValue(value, vv, env2, &bound)
                    }
                    var ok = false
                    for env4 in bound {
                        if try bodySucceeds(body, env4) {
                            ok = true
                            break
                        }
                    }
                    if !ok { all = false }
                    return ok
                }
                if all { out.append(env2) }
            }
        }
    }

    /// Calls `body` with each entry of a collection as (key, value): index/element,
    /// element/element, key/value, in OPA's order; none for scalars. Ticks per entry.
    @inline(__always)
    func forEachEntry(_ coll: RegoValue, _ body: (RegoValue, RegoValue) throws -> Bool) throws {
        switch coll {
        case .array(let items):
            for i in items.indices {
                try tick()
                if try !body(.int(i), items[i]) { return }
            }
        case .set:
            for x in coll.sortedElements {
                try tick()
                if try !body(x, x) { return }
            }
        case .object:
            for e in coll.sortedEntries {
                try tick()
                if try !body(e.key, e.value) { return }
            }
        default:
            return
        }
    }

    // MARK: with

    func evalWith(_ e: Expr, _ env: Env, _ out: inout [Env]) throws {
        // Evaluate modifier values first (in the current state), then run the expression in a new state.
        var plain = e
        plain.withs = []
        var partial: [([(With, RegoValue)], Env)] = [([], env)]
        for w in e.withs {
            var next: [([(With, RegoValue)], Env)] = []
            for (values, env1) in partial {
                if functionTargetName(w.target) != nil, let fname = w.value.dottedName, isCallable(fname, env1) {
                    next.append((values + [(w, .string("\u{0}fn:" + fname.joined(separator: ".")))], env1))
                    continue
                }
                var sols: [Solution] = []
                try evalTerm(w.value, env1, &sols)
                for (v, env2) in sols { next.append((values + [(w, v)], env2)) }
            }
            partial = next
        }
        for (values, env2) in partial {
            let saved = state
            var next = State(
                input: saved.input, dataOverrides: saved.dataOverrides, functionOverrides: saved.functionOverrides,
                functionOverrideValues: saved.functionOverrideValues, cache: Cache())
            for (w, v) in values {
                try applyWith(w.target, v, &next, e.location)
            }
            state = next
            defer { state = saved }
            try evalExpr(plain, env2, &out)
        }
    }

    /// The dotted name of a `with` target when it names a function (builtin or user).
    func functionTargetName(_ t: Term) -> [String]? {
        guard let path = t.dottedName else { return nil }
        if path[0] == "input" { return nil }
        if path[0] == "data" {
            return program.functionRules(path) != nil ? path : nil
        }
        return Builtins.table[path.joined(separator: ".")] != nil ? path : nil
    }

    /// True when a `with` value names a function (user function or builtin) rather than a value.
    func isCallable(_ name: [String], _ env: Env) -> Bool {
        if name.count == 1, env[name[0]] != nil { return false }
        if name[0] == "data" { return program.functionRules(name) != nil }
        return Builtins.table[name.joined(separator: ".")] != nil
    }

    func applyWith(_ target: Term, _ value: RegoValue, _ st: inout State, _ loc: SourceLocation) throws {
        guard let path = target.dottedName else {
            throw RegoError.compile("with keyword target must reference existing input, data, or a function", loc)
        }
        if path[0] == "input" {
            let rest = Array(path.dropFirst())
            if rest.isEmpty {
                st.input = value
            } else {
                st.input = RegoValue.upsert(st.input ?? .object([:]), rest.map { .string($0) }, value)
            }
            return
        }
        if let fname = functionTargetName(target) {
            let key = fname.joined(separator: ".")
            if case .string(let s) = value, s.hasPrefix("\u{0}fn:") {
                st.functionOverrideValues[key] = .function(
                    String(s.dropFirst(4)).split(separator: ".").map(String.init))
            } else {
                st.functionOverrideValues[key] = .value(value)
            }
            return
        }
        if path[0] == "data" {
            let rest = Array(path.dropFirst())
            st.dataOverrides.removeAll { $0.path == rest }
            st.dataOverrides.append((rest, value))
            return
        }
        throw RegoError.compile(
            "with keyword target must reference existing input, data, or a function: \(path.joined(separator: "."))",
            loc)
    }

    // MARK: terms

    func isGround(_ t: Term, _ env: Env) -> Bool {
        switch t {
        case .value: return true
        case .variable(let v): return Compiler.isRoot(v) || env[v] != nil
        case .ref(let h, let p): return isGround(h, env) && p.allSatisfy { isGround($0, env) }
        case .array(let i), .set(let i): return i.allSatisfy { isGround($0, env) }
        case .object(let e): return e.allSatisfy { isGround($0.key, env) && isGround($0.value, env) }
        case .arrayComprehension, .setComprehension, .objectComprehension: return true
        // `walk(x)` generates many values: never treated as a single one.
        case .call(let name, let a, _):
            return !(name.count == 1 && name[0] == "walk") && a.allSatisfy { isGround($0, env) }
        }
    }

    /// The one value of a ground term (`isGround(t, env)`: every variable bound, so it cannot
    /// iterate or bind), nil when undefined. The same answer as `evalTerm`, without building
    /// arrays of solutions: the common case of every expression of a gate policy.
    func evalGround(_ t: Term, _ env: Env) throws -> RegoValue? {
        switch t {
        case .value(let v):
            return v
        case .variable(let name):
            if let v = env[name] { return v }
            if name == "input" { return state.input }
            var out: [Solution] = []
            try evalTerm(t, env, &out)
            return out.first?.value
        case .ref(let head, let path):
            if case .variable(let name) = head, env[name] == nil {
                if name == "input" {
                    guard let input = state.input else { return nil }
                    return try walkGround(input, path, 0, env, dataDocument: false)
                }
                if name == "data", state.dataOverrides.isEmpty { return try evalDataGround(path, env) }
                var out: [Solution] = []
                try evalRef(head, path, env, &out)
                return out.first?.value
            }
            guard let base = try evalGround(head, env) else { return nil }
            return try walkGround(base, path, 0, env, dataDocument: false)
        case .array(let items):
            try checkStack()
            var values: [RegoValue] = []
            values.reserveCapacity(items.count)
            for item in items {
                guard let v = try evalGround(item, env) else { return nil }
                values.append(v)
            }
            return .array(values)
        case .call(let name, let args, let loc):
            try checkStack()
            var out: [Solution] = []
            try evalCall(name, args, loc, env, &out, argumentsGround: true)
            return out.first?.value
        default:
            var out: [Solution] = []
            try evalTerm(t, env, &out)
            return out.first?.value
        }
    }

    /// `evalDataNode` for a ground path without `with data` overrides: down the rule tree by
    /// name, then into the node's document (or the base data) with `walkGround`.
    func evalDataGround(_ path: [Term], _ env: Env) throws -> RegoValue? {
        var node = program.root
        var i = 0
        while true {
            if node.hasRules || i == path.count {
                guard let v = try materialize(node, node.path) else { return nil }
                return try walkGround(v, path, i, env, dataDocument: false)
            }
            let key: RegoValue
            if case .value(let k) = path[i] {
                key = k
            } else {
                guard let k = try evalGround(path[i], env) else { return nil }
                key = k
            }
            let name: String
            switch key {
            case .string(let s): name = s
            case .number(let n): name = n.description  // data[2] reads key "2"
            default: return nil
            }
            if let child = node.child(named: name) {
                node = child
                i += 1
                continue
            }
            // Called without `with data` overrides only: the node's base data was read at compile time.
            guard case .object(let parent)? = node.baseData, let base = parent[.string(name)] else { return nil }
            return try walkGround(base, path, i + 1, env, dataDocument: true)
        }
    }

    /// `walk` along a ground path: one value or none.
    func walkGround(_ value: RegoValue, _ path: [Term], _ start: Int, _ env: Env, dataDocument: Bool) throws
        -> RegoValue?
    {
        var cur = value
        var i = start
        while i < path.count {
            let key: RegoValue
            if case .value(let k) = path[i] {
                key = k
            } else {
                guard let k = try evalGround(path[i], env) else { return nil }
                key = k
            }
            guard let next = index(cur, key, dataDocument) else { return nil }
            cur = next
            i += 1
        }
        return cur
    }

    /// Appends every value of a term (refs with unbound variables iterate, binding them).
    func evalTerm(_ t: Term, _ env: Env, _ out: inout [Solution]) throws {
        switch t {
        case .value(let v):
            out.append((v, env))
        case .variable(let name):
            if let v = env[name] {
                out.append((v, env))
                return
            }
            if name == "input" {
                if let input = state.input { out.append((input, env)) }
                return
            }
            if name == "data" {
                try evalData([], env, &out)
                return
            }
            throw RegoError(code: "rego_unsafe_var_error", message: "var \(displayName(name)) is unsafe")
        case .ref(let head, let path):
            if path.allSatisfy({ isGround($0, env) }), isGround(head, env) {
                if let v = try evalGround(t, env) { out.append((v, env)) }
                return
            }
            try evalRef(head, path, env, &out)
        case .array(let items):
            try checkStack()
            if items.allSatisfy({ isGround($0, env) }) {
                if let v = try evalGround(t, env) { out.append((v, env)) }
                return
            }
            for (vs, env2) in try evalList(items, env) { out.append((.array(vs), env2)) }
        case .set(let items):
            try checkStack()
            for (vs, env2) in try evalList(items, env) { out.append((.set(Set(vs)), env2)) }
        case .object(let entries):
            try checkStack()
            var flat: [Term] = []
            flat.reserveCapacity(entries.count * 2)
            for e in entries {
                flat.append(e.key)
                flat.append(e.value)
            }
            for (vs, env2) in try evalList(flat, env) {
                var obj: [RegoValue: RegoValue] = [:]
                var i = 0
                while i < vs.count {
                    obj[vs[i]] = vs[i + 1]
                    i += 2
                }
                out.append((.object(obj), env2))
            }
        case .arrayComprehension(let head, let body):
            try checkStack()
            var items: [RegoValue] = []
            for env2 in try evalBody(body, env) {
                try tick()
                var vs: [Solution] = []
                try evalTerm(head, env2, &vs)
                for v in vs { items.append(v.value) }
            }
            out.append((.array(items), env))
        case .setComprehension(let head, let body):
            try checkStack()
            var items = Set<RegoValue>()
            for env2 in try evalBody(body, env) {
                try tick()
                var vs: [Solution] = []
                try evalTerm(head, env2, &vs)
                for v in vs { items.insert(v.value) }
            }
            out.append((.set(items), env))
        case .objectComprehension(let kt, let vt, let body):
            try checkStack()
            var obj: [RegoValue: RegoValue] = [:]
            for env2 in try evalBody(body, env) {
                try tick()
                var ks: [Solution] = []
                try evalTerm(kt, env2, &ks)
                for (kv, env3) in ks {
                    var vs: [Solution] = []
                    try evalTerm(vt, env3, &vs)
                    for (vv, _) in vs {
                        if let existing = obj[kv], existing != vv {
                            throw RegoError.conflict("object keys must be unique")
                        }
                        obj[kv] = vv
                    }
                }
            }
            out.append((.object(obj), env))
        case .call(let name, let args, let loc):
            try checkStack()
            try evalCall(name, args, loc, env, &out)
        }
    }

    func displayName(_ name: String) -> String {
        if name.hasPrefix("$_") { return "_" }
        return name.split(separator: "$").first.map(String.init) ?? name
    }

    /// Every combination of the items' values, in order, with the bindings that produced it.
    func evalList(_ items: [Term], _ env: Env) throws -> [([RegoValue], Env)] {
        if items.allSatisfy({ isGround($0, env) }) {
            var values: [RegoValue] = []
            values.reserveCapacity(items.count)
            for item in items {
                guard let v = try evalGround(item, env) else { return [] }
                values.append(v)
            }
            return [(values, env)]
        }
        var partial: [([RegoValue], Env)] = [([], env)]
        partial[0].0.reserveCapacity(items.count)
        for item in items {
            var next: [([RegoValue], Env)] = []
            for (acc, env1) in partial {
                try tick()
                var sols: [Solution] = []
                try evalTerm(item, env1, &sols)
                for (v, env2) in sols {
                    var a = acc
                    a.append(v)
                    next.append((a, env2))
                }
            }
            partial = next
            if partial.isEmpty { break }
        }
        return partial
    }

    func evalRef(_ head: Term, _ path: [Term], _ env: Env, _ out: inout [Solution]) throws {
        if case .variable(let name) = head, env[name] == nil {
            if name == "data" {
                try evalData(path, env, &out)
                return
            }
            if name == "input" {
                guard let input = state.input else { return }
                try walk(input, path, 0, env, &out)
                return
            }
        }
        var heads: [Solution] = []
        try evalTerm(head, env, &heads)
        for (v, env2) in heads { try walk(v, path, 0, env2, &out) }
    }

    /// Indexes into `value` along `path[i...]`, iterating where a path element is unbound.
    /// `dataDocument`: inside base data, where a number indexes an object by its text (`data.x[2]` reads "2").
    func walk(
        _ value: RegoValue, _ path: [Term], _ i: Int, _ env: Env, _ out: inout [Solution], dataDocument: Bool = false
    ) throws {
        if i == path.count {
            out.append((value, env))
            return
        }
        let p = path[i]
        if case .value(let key) = p {
            // The common case (a dotted name): no solutions array needed.
            if let next = index(value, key, dataDocument) {
                try walk(next, path, i + 1, env, &out, dataDocument: dataDocument)
            }
            return
        }
        if isGround(p, env) {
            var keys: [Solution] = []
            try evalTerm(p, env, &keys)
            for (key, env2) in keys {
                guard let next = index(value, key, dataDocument) else { continue }
                try walk(next, path, i + 1, env2, &out, dataDocument: dataDocument)
            }
            return
        }
        try forEachEntry(value) { key, v in
            var bound: [Env] = []
            try unifyValue(p, key, env, &bound)
            for env2 in bound { try walk(v, path, i + 1, env2, &out) }
            return true
        }
    }

    @inline(__always)
    func index(_ value: RegoValue, _ key: RegoValue, _ dataDocument: Bool) -> RegoValue? {
        if let next = RegoValue.index(value, key) { return next }
        if dataDocument, case .number(let n) = key, case .object = value {
            return RegoValue.index(value, .string(n.description))
        }
        return nil
    }

    // MARK: unification

    func unifyTerms(_ a: Term, _ b: Term, _ env: Env, _ loc: SourceLocation, _ out: inout [Env]) throws {
        switch (a, b) {
        case (.array(let xs), .array(let ys)):
            guard xs.count == ys.count else { return }
            try unifyPairs(Array(zip(xs, ys)), env, loc, &out)
            return
        case (.object(let xs), .object(let ys)):
            guard xs.count == ys.count else { return }
            // Keys must be ground: match entries by key value.
            guard let xk = try evalList(xs.map(\.key), env).first?.0,
                let yk = try evalList(ys.map(\.key), env).first?.0,
                Set(xk) == Set(yk)
            else { return }
            var pairs: [(Term, Term)] = []
            for (i, key) in xk.enumerated() {
                let j = yk.firstIndex(of: key)!
                pairs.append((xs[i].value, ys[j].value))
            }
            guard pairs.count == xs.count else { return }
            try unifyPairs(pairs, env, loc, &out)
            return
        default: break
        }
        if isGround(a, env) {
            if let v = try evalGround(a, env) { try unifyValue(b, v, env, &out) }
            return
        }
        if isGround(b, env), needsBinding(a, env) {
            if let v = try evalGround(b, env) { try unifyValue(a, v, env, &out) }
            return
        }
        if !needsBinding(a, env) {
            var sols: [Solution] = []
            try evalTerm(a, env, &sols)
            for (v, env2) in sols { try unifyValue(b, v, env2, &out) }
            return
        }
        if !needsBinding(b, env) {
            var sols: [Solution] = []
            try evalTerm(b, env, &sols)
            for (v, env2) in sols { try unifyValue(a, v, env2, &out) }
            return
        }
        throw RegoError(
            code: "rego_unsafe_var_error", message: "unification of two unbound terms is unsafe", file: loc.file,
            line: loc.line, column: loc.column)
    }

    func unifyPairs(_ pairs: [(Term, Term)], _ env: Env, _ loc: SourceLocation, _ out: inout [Env]) throws {
        if pairs.isEmpty {
            out.append(env)
            return
        }
        // Solve a pair that can be solved now first.
        let idx =
            pairs.firstIndex {
                !needsBinding($0.0, env) || !needsBinding($0.1, env) || isComposite($0.0) && isComposite($0.1)
            } ?? 0
        var rest = pairs
        let (a, b) = rest.remove(at: idx)
        var mids: [Env] = []
        try unifyTerms(a, b, env, loc, &mids)
        for env2 in mids { try unifyPairs(rest, env2, loc, &out) }
    }

    func isComposite(_ t: Term) -> Bool {
        switch t {
        case .array, .object: return true
        default: return false
        }
    }

    /// True when the term has an unbound variable in a pattern position (so it can't be evaluated).
    func needsBinding(_ t: Term, _ env: Env) -> Bool {
        switch t {
        case .variable(let v): return !Compiler.isRoot(v) && env[v] == nil
        case .array(let items): return items.contains { needsBinding($0, env) }
        case .object(let entries): return entries.contains { needsBinding($0.value, env) }
        default: return false
        }
    }

    /// Unifies a term (possibly a pattern with unbound variables) with a value.
    func unifyValue(_ t: Term, _ value: RegoValue, _ env: Env, _ out: inout [Env]) throws {
        switch t {
        case .variable(let name):
            if Compiler.isRoot(name) {
                var sols: [Solution] = []
                try evalTerm(t, env, &sols)
                for (v, env2) in sols where v == value { out.append(env2) }
                return
            }
            if let bound = env[name] {
                if bound == value { out.append(env) }
                return
            }
            var next = env
            next[name] = value
            out.append(next)
        case .array(let items):
            guard case .array(let vs) = value, vs.count == items.count else { return }
            try unifyValues(items, vs, env, &out)
        case .object(let entries):
            guard case .object(let obj) = value, obj.count == entries.count else { return }
            for (keys, env2) in try evalList(entries.map(\.key), env) {
                var vals: [RegoValue] = []
                var all = true
                for key in keys {
                    guard let v = obj[key] else {
                        all = false
                        break
                    }
                    vals.append(v)
                }
                if all { try unifyValues(entries.map(\.value), vals, env2, &out) }
            }
        case .value(let v):
            if v == value { out.append(env) }
        default:
            var sols: [Solution] = []
            try evalTerm(t, env, &sols)
            for (v, env2) in sols where v == value { out.append(env2) }
        }
    }

    func unifyValues(_ terms: [Term], _ values: [RegoValue], _ env: Env, _ out: inout [Env]) throws {
        var envs = [env]
        for i in terms.indices {
            var next: [Env] = []
            for e in envs {
                try tick()
                try unifyValue(terms[i], values[i], e, &next)
            }
            envs = next
            if envs.isEmpty { return }
        }
        out.append(contentsOf: envs)
    }

    // MARK: calls

    /// Appends the call's values; a call given its output argument (`count(x, n)`) yields `true`.
    /// `argumentsGround`: the caller checked that every argument is ground (`isGround`).
    func evalCall(
        _ name: [String], _ args: [Term], _ loc: SourceLocation, _ env: Env, _ out: inout [Solution],
        argumentsGround: Bool = false
    ) throws {
        try tick()
        var arity: Int? = nil
        var target = name
        var mockValue: RegoValue? = nil
        var replaced = false
        if !state.functionOverrideValues.isEmpty, let mock = state.functionOverrideValues[name.joined(separator: ".")] {
            switch mock {
            case .value(let v): mockValue = v
            case .function(let f):
                target = f
                replaced = true
            }
        }
        // Looked up by path, so no name is joined on the way (only for messages).
        let userRules = target[0] == "data" ? program.functionRules(target) : nil
        let builtin = userRules == nil ? Builtins.byPath[target] : nil
        if let userRules {
            arity = userRules.first?.rule.args?.count
        } else if let builtin {
            arity = builtin.arity
        } else {
            throw RegoError(
                code: "rego_type_error", message: "undefined function \(target.joined(separator: "."))", file: loc.file,
                line: loc.line, column: loc.column)
        }
        if replaced,
            let realArity = Builtins.byPath[name]?.arity ?? program.functionRules(name)?.first?.rule.args?.count
        {
            arity = realArity
        }
        var inputs = args
        var output: Term? = nil
        if let arity, arity >= 0, args.count == arity + 1 {
            output = inputs.removeLast()
        } else if let arity, arity >= 0, args.count != arity {
            throw RegoError(
                code: "rego_type_error",
                message:
                    "\(name.joined(separator: ".")): arity mismatch: expected \(arity) arguments, got \(args.count)",
                file: loc.file, line: loc.line, column: loc.column)
        }
        let isWalk = builtin != nil && target.count == 1 && target[0] == "walk"
        if !isWalk, output == nil, mockValue == nil, !replaced,
            argumentsGround || inputs.allSatisfy({ isGround($0, env) })
        {
            // The common case: ground arguments, one combination, no arrays of partial solutions.
            var values: [RegoValue] = []
            values.reserveCapacity(inputs.count)
            for t in inputs {
                guard let v = try evalGround(t, env) else { return }
                values.append(v)
            }
            if let result = try invoke(target, userRules, builtin, values, loc) { out.append((result, env)) }
            return
        }
        for (values, env2) in try evalList(inputs, env) {
            try tick()
            let result: RegoValue?
            if let mockValue {
                result = mockValue
            } else if let userRules {
                if replaced {
                    // A replacement function runs without the mocks (it may call the original).
                    let saved = state
                    state.functionOverrideValues = [:]
                    state.cache = Cache()
                    defer { state = saved }
                    result = try callFunction(target, userRules, values, loc)
                } else {
                    result = try callFunction(target, userRules, values, loc)
                }
            } else {
                if isWalk {
                    try builtinWalk(values[0], output, env2, &out)
                    continue
                }
                result = try invoke(target, nil, builtin, values, loc)
            }
            guard let result else { continue }
            if let output {
                var bound: [Env] = []
                try unifyValue(output, result, env2, &bound)
                for env3 in bound { out.append((.bool(true), env3)) }
            } else {
                out.append((result, env2))
            }
        }
    }

    /// Calls a user function or a builtin on argument values (no mocks); nil when undefined,
    /// including a builtin error outside strict mode.
    func invoke(
        _ target: [String], _ userRules: [CompiledRule]?, _ builtin: Builtin?, _ values: [RegoValue],
        _ loc: SourceLocation
    ) throws -> RegoValue? {
        if let userRules { return try callFunction(target, userRules, values, loc) }
        do {
            if let builtin {
                do {
                    return try callBuiltin(builtin, values)
                } catch let e as RegoError {
                    throw RegoError(code: e.code, message: e.message, file: loc.file, line: loc.line)
                }
            }
            return try Builtins.call(target.joined(separator: "."), values, self, loc)
        } catch let e as RegoError where e.code == "eval_builtin_error" || e.code == "eval_type_error" {
            if strict || e.message.hasPrefix("halt") { throw locate(e, loc) }
            return nil
        }
    }

    func locate(_ e: RegoError, _ loc: SourceLocation) -> RegoError {
        if e.file != nil { return e }
        return RegoError(code: e.code, message: e.message, file: loc.file, line: loc.line, column: nil)
    }

    func builtinWalk(_ value: RegoValue, _ output: Term?, _ env: Env, _ out: inout [Solution]) throws {
        // An explicit stack of (value, path): depth-first, pre-order, children in OPA's order.
        var pairs: [RegoValue] = []
        var work: [(RegoValue, [RegoValue])] = [(value, [])]
        while let item = work.popLast() {
            try tick()
            let (v, path) = item
            pairs.append(.array([.array(path), v]))
            var children: [(RegoValue, [RegoValue])] = []
            switch v {
            case .array(let items): for (i, x) in items.enumerated() { children.append((x, path + [.int(i)])) }
            case .object: for e in v.sortedEntries { children.append((e.value, path + [e.key])) }
            case .set: for x in v.sortedElements { children.append((x, path + [x])) }
            default: break
            }
            work.append(contentsOf: children.reversed())
        }
        for p in pairs {
            try tick()
            if let output {
                var bound: [Env] = []
                try unifyValue(output, p, env, &bound)
                for env2 in bound { out.append((.bool(true), env2)) }
            } else {
                out.append((p, env))
            }
        }
    }

    func callFunction(_ path: [String], _ rules: [CompiledRule], _ args: [RegoValue], _ loc: SourceLocation) throws
        -> RegoValue?
    {
        try enter()
        defer { depth -= 1 }
        var result: RegoValue? = nil
        var defaultValue: RegoValue? = nil
        for rule in rules {
            if rule.rule.isDefault {
                var sols: [Solution] = []
                try evalTerm(rule.rule.value, [:], &sols)
                defaultValue = sols.first?.value
                continue
            }
            guard let params = rule.rule.args, params.count == args.count else { continue }
            var start: [Env] = []
            try unifyValues(params, args, [:], &start)
            for v in try evalRuleClauses(rule, start: start) {
                if let r = result, r != v {
                    throw RegoError.conflict(
                        "functions must not produce multiple outputs for same inputs", rule.rule.location)
                }
                result = v
            }
        }
        return result ?? defaultValue
    }

    /// Values of a rule's first clause (body, then each `else`) that has solutions with a defined value.
    func evalRuleClauses(_ rule: CompiledRule, start: [Env]) throws -> [RegoValue] {
        var values: [RegoValue] = []
        let clauses =
            [(rule.rule.value, rule.rule.body, rule.rule.location)]
            + rule.rule.elseClauses.map { ($0.value, $0.body, $0.location) }
        for (valueTerm, body, loc) in clauses {
            let solutions = try evalExprs(body.exprs, start)
            if solutions.isEmpty { continue }
            for env2 in solutions {
                try tick()
                var vs: [Solution] = []
                try evalTerm(valueTerm, env2, &vs)
                for (v, _) in vs where !values.contains(v) { values.append(v) }
            }
            // OPA moves a clause's value into its body (`rewriteExprTermsInHead`): a value that is
            // undefined for every solution fails the clause, and the next `else` is tried.
            if values.isEmpty { continue }
            if values.count > 1 && rule.rule.args == nil {
                throw RegoError.conflict("complete rules must not produce multiple outputs", loc)
            }
            return values
        }
        return values
    }

    // MARK: data documents

    func evalData(_ path: [Term], _ env: Env, _ out: inout [Solution]) throws {
        try evalDataNode(program.root, [], path, 0, env, &out)
    }

    func override(at nodePath: [String]) -> RegoValue? {
        if state.dataOverrides.isEmpty { return nil }
        for o in state.dataOverrides.reversed() where o.path == nodePath { return o.value }
        return nil
    }

    func evalDataNode(
        _ node: RuleNode, _ nodePath: [String], _ path: [Term], _ i: Int, _ env: Env, _ out: inout [Solution]
    ) throws {
        if let o = override(at: nodePath) {
            try walk(o, path, i, env, &out)
            return
        }
        if node.hasRules || i == path.count {
            guard let v = try materialize(node, nodePath) else { return }
            try walk(v, path, i, env, &out)
            return
        }
        let p = path[i]
        if isGround(p, env) {
            let key: RegoValue
            if case .value(let k) = p {
                key = k
            } else {
                guard let k = try evalGround(p, env) else { return }
                key = k
            }
            if case .string(let s) = key, let child = node.child(named: s) {
                try evalDataNode(child, child.path, path, i + 1, env, &out)
                return
            }
            var name: String? = nil
            if case .string(let s) = key { name = s }
            if case .number(let n) = key { name = n.description }  // data[2] reads key "2"
            if let s = name {
                if let child = node.child(named: s) {
                    try evalDataNode(child, child.path, path, i + 1, env, &out)
                    return
                }
                guard let base = baseValue(nodePath + [s]) else { return }
                try walk(base, path, i + 1, env, &out, dataDocument: true)
            }
            return
        }
        guard let v = try materialize(node, nodePath) else { return }
        try walk(v, path, i, env, &out)
    }

    /// Base data at a path, with `with data…` overrides applied beneath it.
    func baseValue(_ path: [String]) -> RegoValue? {
        if let o = override(at: path) { return o }
        var v: RegoValue? = program.data
        for p in path {
            guard case .object(let obj)? = v else {
                v = nil
                break
            }
            v = obj[.string(p)]
        }
        for o in state.dataOverrides where o.path.count > path.count && Array(o.path.prefix(path.count)) == path {
            v = RegoValue.upsert(v ?? .object([:]), o.path.dropFirst(path.count).map { .string($0) }, o.value)
        }
        return v
    }

    /// The full value of a node of the data tree: base data merged with the rules beneath it.
    func materialize(_ node: RuleNode, _ nodePath: [String]) throws -> RegoValue? {
        if let o = override(at: nodePath) { return o }
        if !node.hasRulesBelow { return baseValue(nodePath) }
        let cache = state.cache
        let slot = node.index
        if cache.slots.isEmpty { cache.slots = Array(repeating: .empty, count: program.nodeCount) }
        switch cache.slots[slot] {
        case .done(let hit): return hit
        case .inProgress:
            throw RegoError(
                code: "rego_recursion_error", message: "rule data.\(nodePath.joined(separator: ".")) is recursive")
        case .empty: break
        }
        cache.slots[slot] = .inProgress
        var finished = false
        defer { if !finished { cache.slots[slot] = .empty } }
        try enter()
        defer { depth -= 1 }

        // Without `with data` overrides, a node's base data was read once at compile time.
        let noOverrides = state.dataOverrides.isEmpty
        let base = noOverrides ? node.baseData : baseValue(nodePath)
        var result: RegoValue? = base
        if node.isPackage || !node.children.isEmpty {
            if result == nil { result = .object([:]) }
        }
        if !node.sortedChildren.isEmpty {
            // The children go into one dictionary, updated in place.
            var obj: [RegoValue: RegoValue]? = nil
            for (name, child) in node.sortedChildren where child.hasRulesBelow {
                if noOverrides || override(at: child.path) == nil, let v = try materialize(child, child.path) {
                    if obj == nil {
                        if case .object(let o)? = result { obj = o } else { obj = [:] }
                        result = nil
                    }
                    let key = RegoValue.string(name)
                    let merged = obj![key].flatMap { RegoValue.merge($0, v) } ?? v
                    obj![key] = merged
                }
            }
            if let obj { result = .object(obj) }
        }
        if node.hasRules {
            result = try evalRulesAt(node, nodePath, into: result)
        }
        // Base documents win over rules with the same path (as in OPA).
        if let base, let r = result {
            result = Builtins.mergeUnion(r, base)
        }
        if !noOverrides {
            for o in state.dataOverrides
            where o.path.count > nodePath.count && Array(o.path.prefix(nodePath.count)) == nodePath {
                result = RegoValue.upsert(
                    result ?? .object([:]), o.path.dropFirst(nodePath.count).map { .string($0) }, o.value)
            }
        }
        cache.slots[slot] = .done(result)
        finished = true
        return result
    }

    /// The (keys, value) pairs a rule body produces: keys from the head's dynamic ref, value from its term.
    func ruleOutputs(_ rule: CompiledRule, _ rel: [Term]) throws -> [([RegoValue], RegoValue)] {
        var outputs: [([RegoValue], RegoValue)] = []
        for env in try evalBody(rule.rule.body, [:]) {
            try tick()
            if rel.isEmpty {
                // A rule without dynamic keys in its head (most): no list of key combinations.
                var vs: [Solution] = []
                try evalTerm(rule.rule.value, env, &vs)
                for (v, _) in vs { outputs.append(([], v)) }
                continue
            }
            for (keys, env2) in try evalList(rel, env) {
                var vs: [Solution] = []
                try evalTerm(rule.rule.value, env2, &vs)
                for (v, _) in vs { outputs.append((keys, v)) }
            }
        }
        return outputs
    }

    func evalRulesAt(_ node: RuleNode, _ nodePath: [String], into start: RegoValue?) throws -> RegoValue? {
        var result = start
        var singles: [[RegoValue]: (RegoValue, Bool)] = [:]  // relative path → value, from ground rule
        var completeDefined = false
        var defaultRule: CompiledRule? = nil
        var sawMulti = false, sawPartialObject = false, sawComplete = false
        for rule in node.rules where !rule.rule.isFunction {
            if rule.rule.isDefault {
                defaultRule = rule
                continue
            }
            // The rule hangs under the node of its ground prefix, so its relative ref is fixed.
            let rel =
                rule.relativeRef.count + nodePath.count == rule.rule.ref.count
                ? rule.relativeRef : Array(rule.rule.ref.dropFirst(nodePath.count))
            switch rule.rule.kind {
            case .multiValue:
                sawMulti = true
                if rel.isEmpty, result == nil || result == .object([:]) {
                    result = result == nil || node.children.isEmpty ? .set([]) : result
                }
                for (keys, v) in try ruleOutputs(rule, rel) {
                    if keys.isEmpty {
                        // The set is taken out of `result` first, so the insertion does not copy it.
                        var set: Set<RegoValue> = []
                        if case .set(let s)? = result { set = s }
                        result = nil
                        set.insert(v)
                        result = .set(set)
                        continue
                    }
                    let existing = result.flatMap { RegoValue.lookup($0, keys) }
                    var set: Set<RegoValue> = []
                    if case .set(let s)? = existing { set = s }
                    set.insert(v)
                    result = RegoValue.upsert(result ?? .object([:]), keys, .set(set))
                }
            case .singleValue:
                if rule.isGround { sawComplete = true } else { sawPartialObject = true }
                let ground = rule.isGround
                var values: [([RegoValue], RegoValue)] = []
                if ground && !rule.rule.elseClauses.isEmpty {
                    for v in try evalRuleClauses(rule, start: [[:]]) { values.append(([], v)) }
                } else {
                    values = try ruleOutputs(rule, rel)
                }
                for (keys, v) in values {
                    if let (prev, prevGround) = singles[keys] {
                        if prev != v {
                            throw RegoError.conflict(
                                ground && prevGround
                                    ? "complete rules must not produce multiple outputs" : "object keys must be unique",
                                rule.rule.location)
                        }
                        continue
                    }
                    // A key beneath a complete value or vice versa is a conflict too.
                    singles[keys] = (v, ground)
                    if keys.isEmpty {
                        completeDefined = true
                        result = v
                    } else {
                        if let r = result, case .object = r {
                        } else if result != nil, !(result == .set([])) {
                            throw RegoError.conflict("object keys must be unique", rule.rule.location)
                        }
                        // A prefix of the key path holding a non-object value conflicts too.
                        if let r = result {
                            var cur = r
                            for key in keys.dropLast() {
                                guard let next = RegoValue.index(cur, key) else { break }
                                guard case .object = next else {
                                    throw RegoError.conflict("object keys must be unique", rule.rule.location)
                                }
                                cur = next
                            }
                        }
                        if let existing = result.flatMap({ RegoValue.lookup($0, keys) }), existing != v {
                            throw RegoError.conflict("object keys must be unique", rule.rule.location)
                        }
                        result = RegoValue.upsert(result ?? .object([:]), keys, v)
                    }
                }
            }
        }
        if sawPartialObject && result == nil { result = .object([:]) }
        if !completeDefined, !sawMulti, !sawPartialObject, let d = defaultRule {
            var sols: [Solution] = []
            try evalTerm(d.rule.value, [:], &sols)
            if let v = sols.first?.value { result = v }
        }
        return result
    }
}

extension RegoValue {
    /// `coll[key]` as Rego indexes: arrays by integer, objects by key, sets by membership; nil when undefined.
    public static func index(_ coll: RegoValue, _ key: RegoValue) -> RegoValue? {
        switch coll {
        case .array(let items):
            guard case .number(let n) = key, let i = n.intValue, i >= 0, i < items.count else { return nil }
            return items[i]
        case .object(let obj): return obj[key]
        case .set(let s): return s.contains(key) ? key : nil
        default: return nil
        }
    }

    /// Follows `keys` through nested values with `index`; nil when any step is undefined.
    public static func lookup(_ v: RegoValue, _ keys: [RegoValue]) -> RegoValue? {
        var cur = v
        for k in keys {
            guard let n = index(cur, k) else { return nil }
            cur = n
        }
        return cur
    }

    /// Sets `value` at `path` inside objects, creating objects on the way.
    static func upsert(_ base: RegoValue, _ path: [RegoValue], _ value: RegoValue) -> RegoValue {
        guard let first = path.first else { return value }
        var obj: [RegoValue: RegoValue] = [:]
        if case .object(let o) = base { obj = o }
        let child = obj[first] ?? .object([:])
        obj[first] = upsert(child, Array(path.dropFirst()), value)
        return .object(obj)
    }

    /// Deep-merges two objects; nil when they conflict on a non-object value.
    static func merge(_ a: RegoValue, _ b: RegoValue) -> RegoValue? {
        guard case .object(var x) = a, case .object(let y) = b else { return a == b ? a : nil }
        for (k, v) in y {
            if let existing = x[k] {
                guard let m = merge(existing, v) else { return nil }
                x[k] = m
            } else {
                x[k] = v
            }
        }
        return .object(x)
    }
}
