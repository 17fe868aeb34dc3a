import Foundation

/// Variable bindings of one evaluation path.
typealias Env = [String: RegoValue]

/// Continuation: called once per solution; returns false to stop the search.
typealias Next = (Env) throws -> Bool
typealias ValueNext = (RegoValue, Env) throws -> Bool

// Every method here is `@_optimize(none)`: with the optimizer on, Swift 6.3 spends more
// than half an hour on this file's nested continuation closures (a release build of the
// package never finished on the 2-core build machine); unoptimized it compiles in
// seconds, and builtins, values and numbers elsewhere in the module stay optimized.
// Remove the attributes once the compiler copes, and re-run benchmarks/rego/run.sh.

/// The top-down evaluator: backtracking search over rule bodies with OPA's semantics.
///
/// One evaluator serves one query (it caches virtual documents), so it is not
/// shared between threads; `RegoEngine` creates one per call.
final class Evaluator {
    let program: Program
    let strict: Bool
    let deadline: Date?
    let maxDepth = 10_000
    var depth = 0
    var steps = 0

    final class Cache {
        var documents: [[String]: RegoValue?] = [:]
        var inProgress: Set<[String]> = []
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
        self.deadline = deadline
        self.state = State(input: input)
    }

    // MARK: limits

    /// Stack address when evaluation began (see `BigStack`).
    lazy var stackBase: UInt = BigStack.currentAddress()

    @_optimize(none)
    func checkStack() throws {
        let here = BigStack.currentAddress()
        let used = stackBase > here ? stackBase - here : here - stackBase
        if used > UInt(BigStack.limit) {
            throw RegoError(code: "eval_limit_error", message: "evaluation nested too deeply (unbounded recursion?)")
        }
    }

    @_optimize(none)
    func tick() throws {
        try checkStack()
        steps &+= 1
        if steps & 1023 == 0, let deadline, Date() > deadline {
            throw RegoError(code: "eval_limit_error", message: "evaluation exceeded its time limit")
        }
    }

    @_optimize(none)
    func enter() throws {
        try checkStack()
        depth += 1
        if depth > maxDepth {
            throw RegoError(code: "eval_limit_error", message: "evaluation nested deeper than \(maxDepth) levels (unbounded recursion?)")
        }
    }

    // MARK: bodies

    @_optimize(none)
    func evalBody(_ body: Body, _ env: Env, _ k: Next) throws -> Bool {
        try evalExprs(body.exprs, 0, env, k)
    }

    @_optimize(none)
    func evalExprs(_ exprs: [Expr], _ i: Int, _ env: Env, _ k: Next) throws -> Bool {
        if i == exprs.count { return try k(env) }
        try tick()
        return try evalExpr(exprs[i], env) { env2 in try self.evalExprs(exprs, i + 1, env2, k) }
    }

    @_optimize(none)
    func evalExpr(_ e: Expr, _ env: Env, _ k: Next) throws -> Bool {
        if !e.withs.isEmpty { return try evalWith(e, env, k) }
        if e.negated {
            var found = false
            _ = try evalExprPlain(e, env) { _ in found = true; return false }
            return found ? true : try k(env)
        }
        return try evalExprPlain(e, env, k)
    }

    @_optimize(none)
    func evalExprPlain(_ e: Expr, _ env: Env, _ k: Next) throws -> Bool {
        switch e.kind {
        case .term(let t):
            if case .call(let name, let args, let loc) = t {
                return try evalCall(name, args, loc, env, asExpr: true) { v, env2 in
                    v.isTruthy ? try k(env2) : true
                }
            }
            return try evalTerm(t, env) { v, env2 in v.isTruthy ? try k(env2) : true }
        case .unify(let a, let b), .assign(let a, let b):
            return try unifyTerms(a, b, env, e.location) { env2 in try k(env2) }
        case .some:
            return try k(env)
        case .someIn(let key, let value, let domain):
            return try evalTerm(domain, env) { coll, env2 in
                try self.iterate(coll) { kv, vv in
                    if let key {
                        return try self.unifyValue(key, kv, env2) { env3 in
                            try self.unifyValue(value, vv, env3, k)
                        }
                    }
                    return try self.unifyValue(value, vv, env2, k)
                }
            }
        case .every(let key, let value, let domain, let body):
            return try evalTerm(domain, env) { coll, env2 in
                switch coll {
                case .array, .set, .object: break
                default: return true  // `every` over a non-collection is undefined
                }
                var all = true
                _ = try self.iterate(coll) { kv, vv in
                    var ok = false
                    let bodyRun: Next = { env4 in
                        _ = try self.evalBody(body, env4) { _ in ok = true; return false }
                        return !ok ? true : false
                    }
                    if let key {
                        _ = try self.unifyValue(key, kv, env2) { env3 in try self.unifyValue(value, vv, env3, bodyRun) }
                    } else {
                        _ = try self.unifyValue(value, vv, env2, bodyRun)
                    }
                    if !ok { all = false; return false }
                    return true
                }
                return all ? try k(env2) : true
            }
        }
    }

    /// Calls `k(key, value)` for each entry of a collection (index/element/key); nothing for scalars.
    @_optimize(none)
    func iterate(_ coll: RegoValue, _ k: (RegoValue, RegoValue) throws -> Bool) throws -> Bool {
        switch coll {
        case .array(let items):
            for (i, v) in items.enumerated() { if try !k(.int(i), v) { return false } }
        case .set:
            for v in coll.sortedElements { if try !k(v, v) { return false } }
        case .object:
            for e in coll.sortedEntries { if try !k(e.key, e.value) { return false } }
        default: break
        }
        return true
    }

    // MARK: with

    @_optimize(none)
    func evalWith(_ e: Expr, _ env: Env, _ k: Next) throws -> Bool {
        // Evaluate modifier values first (in the current state), then run the expression in a new state.
        var values: [(With, RegoValue)] = []
        var plain = e
        plain.withs = []
        func collect(_ i: Int, _ env: Env, _ k: Next) throws -> Bool {
            if i == e.withs.count { return try k(env) }
            let w = e.withs[i]
            if functionTargetName(w.target) != nil, let fname = functionPath(w.value), isCallable(fname, env) {
                values.append((w, .string("\u{0}fn:" + fname.joined(separator: "."))))
                defer { values.removeLast() }
                return try collect(i + 1, env, k)
            }
            return try evalTerm(w.value, env) { v, env2 in
                values.append((w, v))
                defer { values.removeLast() }
                return try collect(i + 1, env2, k)
            }
        }
        return try collect(0, env) { env2 in
            let saved = self.state
            var next = State(input: saved.input, dataOverrides: saved.dataOverrides, functionOverrides: saved.functionOverrides, functionOverrideValues: saved.functionOverrideValues, cache: Cache())
            for (w, v) in values {
                try self.applyWith(w.target, v, &next, e.location)
            }
            self.state = next
            defer { self.state = saved }
            return try self.evalExpr(plain, env2) { env3 in
                let inner = self.state
                self.state = saved
                defer { self.state = inner }
                return try k(env3)
            }
        }
    }

    /// The dotted name of a `with` target when it names a function (builtin or user).
    @_optimize(none)
    func functionTargetName(_ t: Term) -> [String]? {
        guard let path = functionPath(t) else { return nil }
        if path[0] == "input" { return nil }
        if path[0] == "data" {
            return program.functionRules(path) != nil ? path : nil
        }
        return Builtins.table[path.joined(separator: ".")] != nil ? path : nil
    }

    /// True when a `with` value names a function (user function or builtin) rather than a value.
    @_optimize(none)
    func isCallable(_ name: [String], _ env: Env) -> Bool {
        if name.count == 1, env[name[0]] != nil { return false }
        if name[0] == "data" { return program.functionRules(name) != nil }
        return Builtins.table[name.joined(separator: ".")] != nil
    }

    @_optimize(none)
    func functionPath(_ t: Term) -> [String]? {
        switch t {
        case .variable(let v): return [v]
        case .ref(.variable(let v), let path):
            var out = [v]
            for p in path { guard case .value(.string(let s)) = p else { return nil }; out.append(s) }
            return out
        default: return nil
        }
    }

    @_optimize(none)
    func applyWith(_ target: Term, _ value: RegoValue, _ st: inout State, _ loc: SourceLocation) throws {
        guard let path = functionPath(target) else {
            throw RegoError.compile("with keyword target must reference existing input, data, or a function", loc)
        }
        if path[0] == "input" {
            let rest = Array(path.dropFirst())
            if rest.isEmpty { st.input = value } else { st.input = RegoValue.upsert(st.input ?? .object([:]), rest.map { .string($0) }, value) }
            return
        }
        if let fname = functionTargetName(target) {
            let key = fname.joined(separator: ".")
            if case .string(let s) = value, s.hasPrefix("\u{0}fn:") {
                st.functionOverrideValues[key] = .function(String(s.dropFirst(4)).split(separator: ".").map(String.init))
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
        throw RegoError.compile("with keyword target must reference existing input, data, or a function: \(path.joined(separator: "."))", loc)
    }

    // MARK: terms

    @_optimize(none)
    func isGround(_ t: Term, _ env: Env) -> Bool {
        switch t {
        case .value: return true
        case .variable(let v): return Compiler.isRoot(v) || env[v] != nil
        case .ref(let h, let p): return isGround(h, env) && p.allSatisfy { isGround($0, env) }
        case .array(let i), .set(let i): return i.allSatisfy { isGround($0, env) }
        case .object(let e): return e.allSatisfy { isGround($0.key, env) && isGround($0.value, env) }
        case .arrayComprehension, .setComprehension, .objectComprehension: return true
        case .call(_, let a, _): return a.allSatisfy { isGround($0, env) }
        }
    }

    /// Enumerates the values of a term (refs with unbound variables iterate, binding them).
    @_optimize(none)
    func evalTerm(_ t: Term, _ env: Env, _ k: ValueNext) throws -> Bool {
        switch t {
        case .value(let v): return try k(v, env)
        case .variable(let name):
            if let v = env[name] { return try k(v, env) }
            if name == "input" { guard let input = state.input else { return true }; return try k(input, env) }
            if name == "data" { return try evalData([], env, k) }
            throw RegoError(code: "rego_unsafe_var_error", message: "var \(displayName(name)) is unsafe")
        case .ref(let head, let path):
            return try evalRef(head, path, env, k)
        case .array(let items):
            return try evalList(items, 0, [], env) { vs, env2 in try k(.array(vs), env2) }
        case .set(let items):
            return try evalList(items, 0, [], env) { vs, env2 in try k(.set(Set(vs)), env2) }
        case .object(let entries):
            let flat = entries.flatMap { [$0.key, $0.value] }
            return try evalList(flat, 0, [], env) { vs, env2 in
                var obj: [RegoValue: RegoValue] = [:]
                var i = 0
                while i < vs.count { obj[vs[i]] = vs[i + 1]; i += 2 }
                return try k(.object(obj), env2)
            }
        case .arrayComprehension(let head, let body):
            var out: [RegoValue] = []
            _ = try evalBody(body, env) { env2 in
                try self.evalTerm(head, env2) { v, _ in out.append(v); return true }
            }
            return try k(.array(out), env)
        case .setComprehension(let head, let body):
            var out = Set<RegoValue>()
            _ = try evalBody(body, env) { env2 in
                try self.evalTerm(head, env2) { v, _ in out.insert(v); return true }
            }
            return try k(.set(out), env)
        case .objectComprehension(let kt, let vt, let body):
            var out: [RegoValue: RegoValue] = [:]
            _ = try evalBody(body, env) { env2 in
                try self.evalTerm(kt, env2) { kv, env3 in
                    try self.evalTerm(vt, env3) { vv, _ in
                        if let existing = out[kv], existing != vv {
                            throw RegoError.conflict("object keys must be unique")
                        }
                        out[kv] = vv
                        return true
                    }
                }
            }
            return try k(.object(out), env)
        case .call(let name, let args, let loc):
            return try evalCall(name, args, loc, env, asExpr: false, k)
        }
    }

    @_optimize(none)
    func displayName(_ name: String) -> String {
        if name.hasPrefix("$_") { return "_" }
        return name.split(separator: "$").first.map(String.init) ?? name
    }

    @_optimize(none)
    func evalList(_ items: [Term], _ i: Int, _ acc: [RegoValue], _ env: Env, _ k: ([RegoValue], Env) throws -> Bool) throws -> Bool {
        if i == items.count { return try k(acc, env) }
        return try evalTerm(items[i], env) { v, env2 in
            var next = acc
            next.append(v)
            return try self.evalList(items, i + 1, next, env2, k)
        }
    }

    @_optimize(none)
    func evalRef(_ head: Term, _ path: [Term], _ env: Env, _ k: ValueNext) throws -> Bool {
        if case .variable(let name) = head, env[name] == nil {
            if name == "data" { return try evalData(path, env, k) }
            if name == "input" {
                guard let input = state.input else { return true }
                return try walk(input, path, 0, env, k)
            }
        }
        return try evalTerm(head, env) { v, env2 in try self.walk(v, path, 0, env2, k) }
    }

    /// Indexes into `value` along `path[i...]`, iterating where a path element is unbound.
    /// `dataDocument`: inside base data, where a number indexes an object by its text (`data.x[2]` reads "2").
    @_optimize(none)
    func walk(_ value: RegoValue, _ path: [Term], _ i: Int, _ env: Env, _ k: ValueNext, dataDocument: Bool = false) throws -> Bool {
        if i == path.count { return try k(value, env) }
        let p = path[i]
        if isGround(p, env) {
            return try evalTerm(p, env) { key, env2 in
                var next = RegoValue.index(value, key)
                if next == nil, dataDocument, case .number(let n) = key, case .object = value {
                    next = RegoValue.index(value, .string(n.description))
                }
                guard let next else { return true }
                return try self.walk(next, path, i + 1, env2, k, dataDocument: dataDocument)
            }
        }
        return try iterate(value) { key, v in
            try self.unifyValue(p, key, env) { env2 in try self.walk(v, path, i + 1, env2, k) }
        }
    }

    // MARK: unification

    @_optimize(none)
    func unifyTerms(_ a: Term, _ b: Term, _ env: Env, _ loc: SourceLocation, _ k: Next) throws -> Bool {
        switch (a, b) {
        case (.array(let xs), .array(let ys)):
            guard xs.count == ys.count else { return true }
            return try unifyPairs(Array(zip(xs, ys)), env, loc, k)
        case (.object(let xs), .object(let ys)):
            guard xs.count == ys.count else { return true }
            // Keys must be ground: match entries by key value.
            var pairs: [(Term, Term)] = []
            var ok = true
            _ = try evalList(xs.map(\.key), 0, [], env) { xk, _ in
                try self.evalList(ys.map(\.key), 0, [], env) { yk, _ in
                    guard Set(xk) == Set(yk) else { ok = false; return false }
                    for (i, key) in xk.enumerated() {
                        let j = yk.firstIndex(of: key)!
                        pairs.append((xs[i].value, ys[j].value))
                    }
                    return false
                }
            }
            guard ok, pairs.count == xs.count else { return true }
            return try unifyPairs(pairs, env, loc, k)
        default: break
        }
        if !needsBinding(a, env) {
            return try evalTerm(a, env) { v, env2 in try self.unifyValue(b, v, env2, k) }
        }
        if !needsBinding(b, env) {
            return try evalTerm(b, env) { v, env2 in try self.unifyValue(a, v, env2, k) }
        }
        throw RegoError(code: "rego_unsafe_var_error", message: "unification of two unbound terms is unsafe", file: loc.file, line: loc.line, column: loc.column)
    }

    @_optimize(none)
    func unifyPairs(_ pairs: [(Term, Term)], _ env: Env, _ loc: SourceLocation, _ k: Next) throws -> Bool {
        if pairs.isEmpty { return try k(env) }
        // Solve a pair that can be solved now first.
        let idx = pairs.firstIndex { !needsBinding($0.0, env) || !needsBinding($0.1, env) || isComposite($0.0) && isComposite($0.1) } ?? 0
        var rest = pairs
        let (a, b) = rest.remove(at: idx)
        return try unifyTerms(a, b, env, loc) { env2 in try self.unifyPairs(rest, env2, loc, k) }
    }

    @_optimize(none)
    func isComposite(_ t: Term) -> Bool {
        switch t { case .array, .object: return true; default: return false }
    }

    /// True when the term has an unbound variable in a pattern position (so it can't be evaluated).
    @_optimize(none)
    func needsBinding(_ t: Term, _ env: Env) -> Bool {
        switch t {
        case .variable(let v): return !Compiler.isRoot(v) && env[v] == nil
        case .array(let items): return items.contains { needsBinding($0, env) }
        case .object(let entries): return entries.contains { needsBinding($0.value, env) }
        default: return false
        }
    }

    /// Unifies a term (possibly a pattern with unbound variables) with a value.
    @_optimize(none)
    func unifyValue(_ t: Term, _ value: RegoValue, _ env: Env, _ k: Next) throws -> Bool {
        switch t {
        case .variable(let name):
            if Compiler.isRoot(name) {
                return try evalTerm(t, env) { v, env2 in v == value ? try k(env2) : true }
            }
            if let bound = env[name] { return bound == value ? try k(env) : true }
            var next = env
            next[name] = value
            return try k(next)
        case .array(let items):
            guard case .array(let vs) = value, vs.count == items.count else { return true }
            return try unifyValues(items, vs, 0, env, k)
        case .object(let entries):
            guard case .object(let obj) = value, obj.count == entries.count else { return true }
            return try evalList(entries.map(\.key), 0, [], env) { keys, env2 in
                var vals: [RegoValue] = []
                for key in keys {
                    guard let v = obj[key] else { return true }
                    vals.append(v)
                }
                return try self.unifyValues(entries.map(\.value), vals, 0, env2, k)
            }
        case .value(let v):
            return v == value ? try k(env) : true
        default:
            return try evalTerm(t, env) { v, env2 in v == value ? try k(env2) : true }
        }
    }

    @_optimize(none)
    func unifyValues(_ terms: [Term], _ values: [RegoValue], _ i: Int, _ env: Env, _ k: Next) throws -> Bool {
        if i == terms.count { return try k(env) }
        return try unifyValue(terms[i], values[i], env) { env2 in try self.unifyValues(terms, values, i + 1, env2, k) }
    }

    // MARK: calls

    @_optimize(none)
    func evalCall(_ name: [String], _ args: [Term], _ loc: SourceLocation, _ env: Env, asExpr: Bool, _ k: ValueNext) throws -> Bool {
        try tick()
        let key = name.joined(separator: ".")
        var arity: Int? = nil
        var target = name
        var mockValue: RegoValue? = nil
        var replaced = false
        if let mock = state.functionOverrideValues[key] {
            switch mock {
            case .value(let v): mockValue = v
            case .function(let f): target = f; replaced = true
            }
        }
        let targetKey = target.joined(separator: ".")
        let userRules = target[0] == "data" ? program.functionRules(target) : nil
        if let userRules {
            arity = userRules.first?.rule.args?.count
        } else if let b = Builtins.table[targetKey] {
            arity = b.arity
        } else if target[0] == "data" {
            throw RegoError(code: "rego_type_error", message: "undefined function \(targetKey)", file: loc.file, line: loc.line, column: loc.column)
        } else {
            throw RegoError(code: "rego_type_error", message: "undefined function \(targetKey)", file: loc.file, line: loc.line, column: loc.column)
        }
        if mockValue == nil, let realArity = Builtins.table[key]?.arity ?? program.functionRules(name)?.first?.rule.args?.count {
            arity = realArity
        }
        var inputs = args
        var output: Term? = nil
        if let arity, arity >= 0, args.count == arity + 1 {
            output = inputs.removeLast()
        } else if let arity, arity >= 0, args.count != arity {
            throw RegoError(code: "rego_type_error", message: "\(key): arity mismatch: expected \(arity) arguments, got \(args.count)", file: loc.file, line: loc.line, column: loc.column)
        }
        return try evalList(inputs, 0, [], env) { values, env2 in
            let result: RegoValue?
            if let mockValue {
                result = mockValue
            } else if let userRules {
                if replaced {
                    // A replacement function runs without the mocks (it may call the original).
                    let saved = self.state
                    self.state.functionOverrideValues = [:]
                    self.state.cache = Cache()
                    defer { self.state = saved }
                    result = try self.callFunction(target, userRules, values, loc)
                } else {
                    result = try self.callFunction(target, userRules, values, loc)
                }
            } else {
                if targetKey == "walk" {
                    return try self.builtinWalk(values[0], output, env2, k)
                }
                do {
                    result = try Builtins.call(targetKey, values, self, loc)
                } catch let e as RegoError where e.code == "eval_builtin_error" || e.code == "eval_type_error" {
                    if self.strict || e.message.hasPrefix("halt") { throw self.locate(e, loc) }
                    return true
                }
            }
            guard let result else { return true }
            if let output {
                return try self.unifyValue(output, result, env2) { env3 in try k(.bool(true), env3) }
            }
            return try k(result, env2)
        }
    }

    @_optimize(none)
    func locate(_ e: RegoError, _ loc: SourceLocation) -> RegoError {
        if e.file != nil { return e }
        return RegoError(code: e.code, message: e.message, file: loc.file, line: loc.line, column: nil)
    }

    @_optimize(none)
    func builtinWalk(_ value: RegoValue, _ output: Term?, _ env: Env, _ k: ValueNext) throws -> Bool {
        var pairs: [RegoValue] = []
        func visit(_ v: RegoValue, _ path: [RegoValue]) {
            pairs.append(.array([.array(path), v]))
            switch v {
            case .array(let items): for (i, x) in items.enumerated() { visit(x, path + [.int(i)]) }
            case .object: for e in v.sortedEntries { visit(e.value, path + [e.key]) }
            case .set: for x in v.sortedElements { visit(x, path + [x]) }
            default: break
            }
        }
        visit(value, [])
        for p in pairs {
            if let output {
                if try !unifyValue(output, p, env, { env2 in try k(.bool(true), env2) }) { return false }
            } else if try !k(p, env) { return false }
        }
        return true
    }

    @_optimize(none)
    func callFunction(_ path: [String], _ rules: [CompiledRule], _ args: [RegoValue], _ loc: SourceLocation) throws -> RegoValue? {
        try enter(); defer { depth -= 1 }
        var result: RegoValue? = nil
        var defaultValue: RegoValue? = nil
        for rule in rules {
            if rule.rule.isDefault {
                _ = try evalTerm(rule.rule.value, [:]) { v, _ in defaultValue = v; return false }
                continue
            }
            guard let params = rule.rule.args, params.count == args.count else { continue }
            let value = try evalRuleClauses(rule, bindArgs: { k in try self.unifyValues(params, args, 0, [:], k) })
            for v in value {
                if let r = result, r != v {
                    throw RegoError.conflict("functions must not produce multiple outputs for same inputs", rule.rule.location)
                }
                result = v
            }
        }
        return result ?? defaultValue
    }

    /// Values of a rule's first clause (body, then each `else`) that has solutions.
    @_optimize(none)
    func evalRuleClauses(_ rule: CompiledRule, bindArgs: (Next) throws -> Bool) throws -> [RegoValue] {
        var values: [RegoValue] = []
        let clauses = [(rule.rule.value, rule.rule.body, rule.rule.location)] + rule.rule.elseClauses.map { ($0.value, $0.body, $0.location) }
        for (valueTerm, body, loc) in clauses {
            var found = false
            _ = try bindArgs { env in
                try self.evalBody(body, env) { env2 in
                    found = true
                    return try self.evalTerm(valueTerm, env2) { v, _ in
                        if !values.contains(v) { values.append(v) }
                        return true
                    }
                }
            }
            if found {
                if values.count > 1 && rule.rule.args == nil {
                    throw RegoError.conflict("complete rules must not produce multiple outputs", loc)
                }
                return values
            }
        }
        return values
    }

    // MARK: data documents

    @_optimize(none)
    func evalData(_ path: [Term], _ env: Env, _ k: ValueNext) throws -> Bool {
        try evalDataNode(program.root, [], path, 0, env, k)
    }

    @_optimize(none)
    func override(at nodePath: [String]) -> RegoValue? {
        for o in state.dataOverrides.reversed() where o.path == nodePath { return o.value }
        return nil
    }

    @_optimize(none)
    func evalDataNode(_ node: RuleNode, _ nodePath: [String], _ path: [Term], _ i: Int, _ env: Env, _ k: ValueNext) throws -> Bool {
        if let o = override(at: nodePath) { return try walk(o, path, i, env, k) }
        if node.hasRules || i == path.count {
            guard let v = try materialize(node, nodePath) else { return true }
            return try walk(v, path, i, env, k)
        }
        let p = path[i]
        if isGround(p, env) {
            return try evalTerm(p, env) { key, env2 in
                if case .string(let s) = key, let child = node.children[s] {
                    return try self.evalDataNode(child, nodePath + [s], path, i + 1, env2, k)
                }
                var name: String? = nil
                if case .string(let s) = key { name = s }
                if case .number(let n) = key { name = n.description }  // data[2] reads key "2"
                if let s = name {
                    if let child = node.children[s] { return try self.evalDataNode(child, nodePath + [s], path, i + 1, env2, k) }
                    guard let base = self.baseValue(nodePath + [s]) else { return true }
                    return try self.walk(base, path, i + 1, env2, k, dataDocument: true)
                }
                return true
            }
        }
        guard let v = try materialize(node, nodePath) else { return true }
        return try walk(v, path, i, env, k)
    }

    /// Base data at a path, with `with data…` overrides applied beneath it.
    @_optimize(none)
    func baseValue(_ path: [String]) -> RegoValue? {
        if let o = override(at: path) { return o }
        var v: RegoValue? = program.data
        for p in path {
            guard case .object(let obj)? = v else { v = nil; break }
            v = obj[.string(p)]
        }
        for o in state.dataOverrides where o.path.count > path.count && Array(o.path.prefix(path.count)) == path {
            v = RegoValue.upsert(v ?? .object([:]), o.path.dropFirst(path.count).map { .string($0) }, o.value)
        }
        return v
    }

    /// The full value of a node of the data tree: base data merged with the rules beneath it.
    @_optimize(none)
    func materialize(_ node: RuleNode, _ nodePath: [String]) throws -> RegoValue? {
        if let o = override(at: nodePath) { return o }
        if !node.hasRulesBelow { return baseValue(nodePath) }
        let cache = state.cache
        if let hit = cache.documents[nodePath] { return hit }
        if cache.inProgress.contains(nodePath) {
            throw RegoError(code: "rego_recursion_error", message: "rule data.\(nodePath.joined(separator: ".")) is recursive")
        }
        cache.inProgress.insert(nodePath)
        defer { cache.inProgress.remove(nodePath) }
        try enter(); defer { depth -= 1 }

        var result: RegoValue? = baseValue(nodePath)
        if node.isPackage || !node.children.isEmpty {
            if result == nil { result = .object([:]) }
        }
        for (name, child) in node.children.sorted(by: { $0.key < $1.key }) where child.hasRulesBelow {
            if override(at: nodePath + [name]) == nil, let v = try materialize(child, nodePath + [name]) {
                let existing = RegoValue.index(result ?? .object([:]), .string(name))
                let merged = existing.flatMap { RegoValue.merge($0, v) } ?? v
                result = RegoValue.upsert(result ?? .object([:]), [.string(name)], merged)
            }
        }
        if node.hasRules {
            result = try evalRulesAt(node, nodePath, into: result)
        }
        // Base documents win over rules with the same path (as in OPA).
        if let base = baseValue(nodePath), let r = result {
            result = Builtins.mergeUnion(r, base)
        }
        for o in state.dataOverrides where o.path.count > nodePath.count && Array(o.path.prefix(nodePath.count)) == nodePath {
            result = RegoValue.upsert(result ?? .object([:]), o.path.dropFirst(nodePath.count).map { .string($0) }, o.value)
        }
        cache.documents[nodePath] = result
        return result
    }

    @_optimize(none)
    func evalRulesAt(_ node: RuleNode, _ nodePath: [String], into start: RegoValue?) throws -> RegoValue? {
        var result = start
        var singles: [[RegoValue]: (RegoValue, Bool)] = [:]   // relative path → value, from ground rule
        var completeDefined = false
        var defaultRule: CompiledRule? = nil
        var sawMulti = false, sawPartialObject = false, sawComplete = false
        for rule in node.rules where !rule.rule.isFunction {
            if rule.rule.isDefault { defaultRule = rule; continue }
            let rel = Array(rule.rule.ref.dropFirst(nodePath.count))
            switch rule.rule.kind {
            case .multiValue:
                sawMulti = true
                if rel.isEmpty, result == nil || result == .object([:]) { result = result == nil || node.children.isEmpty ? .set([]) : result }
                _ = try evalBody(rule.rule.body, [:]) { env in
                    try self.evalList(rel, 0, [], env) { keys, env2 in
                        try self.evalTerm(rule.rule.value, env2) { v, _ in
                            let existing = result.flatMap { RegoValue.lookup($0, keys) }
                            var set: Set<RegoValue> = []
                            if case .set(let s)? = existing { set = s }
                            set.insert(v)
                            result = keys.isEmpty ? .set(set) : RegoValue.upsert(result ?? .object([:]), keys, .set(set))
                            return true
                        }
                    }
                }
            case .singleValue:
                if rule.rule.isGround { sawComplete = true } else { sawPartialObject = true }
                let ground = rule.rule.isGround
                var values: [([RegoValue], RegoValue)] = []
                if ground && !rule.rule.elseClauses.isEmpty {
                    for v in try evalRuleClauses(rule, bindArgs: { k in try k([:]) }) { values.append(([], v)) }
                } else {
                    _ = try evalBody(rule.rule.body, [:]) { env in
                        try self.evalList(rel, 0, [], env) { keys, env2 in
                            try self.evalTerm(rule.rule.value, env2) { v, _ in
                                values.append((keys, v)); return true
                            }
                        }
                    }
                }
                for (keys, v) in values {
                    if let (prev, prevGround) = singles[keys] {
                        if prev != v {
                            throw RegoError.conflict(ground && prevGround ? "complete rules must not produce multiple outputs" : "object keys must be unique", rule.rule.location)
                        }
                        continue
                    }
                    // A key beneath a complete value or vice versa is a conflict too.
                    singles[keys] = (v, ground)
                    if keys.isEmpty { completeDefined = true; result = v } else {
                        if let r = result, case .object = r {} else if result != nil, !(result == .set([])) {
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
        if !completeDefined && sawComplete == false && !sawMulti && !sawPartialObject, let d = defaultRule {
            _ = try evalTerm(d.rule.value, [:]) { v, _ in result = v; return false }
        } else if !completeDefined, let d = defaultRule, !sawMulti, !sawPartialObject {
            _ = try evalTerm(d.rule.value, [:]) { v, _ in result = v; return false }
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
        for k in keys { guard let n = index(cur, k) else { return nil }; cur = n }
        return cur
    }

    /// Sets `value` at `path` inside objects, creating objects on the way.
    @_optimize(none)
    static func upsert(_ base: RegoValue, _ path: [RegoValue], _ value: RegoValue) -> RegoValue {
        guard let first = path.first else { return value }
        var obj: [RegoValue: RegoValue] = [:]
        if case .object(let o) = base { obj = o }
        let child = obj[first] ?? .object([:])
        obj[first] = upsert(child, Array(path.dropFirst()), value)
        return .object(obj)
    }

    /// Deep-merges two objects; nil when they conflict on a non-object value.
    @_optimize(none)
    static func merge(_ a: RegoValue, _ b: RegoValue) -> RegoValue? {
        guard case .object(var x) = a, case .object(let y) = b else { return a == b ? a : nil }
        for (k, v) in y {
            if let existing = x[k] {
                guard let m = merge(existing, v) else { return nil }
                x[k] = m
            } else { x[k] = v }
        }
        return .object(x)
    }
}
