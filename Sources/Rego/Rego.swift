import Foundation

/// The embedded Rego engine: evaluates OPA's policy language (Rego v1) in
/// process, with no OPA binary or server. Knows nothing of deployments.
public enum Rego {
    /// The Rego language version this engine implements.
    public static let languageVersion = "v1"
}

/// A Rego source file to compile.
public struct RegoModule: Sendable {
    /// The file name used in error messages (`policies/canary.rego`).
    public let name: String
    public let source: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }
}

/// One solution of a query: the values of its expressions and the bindings of its variables,
/// in the shape `opa eval -f json` prints.
public struct RegoQueryResult: Sendable, Equatable {
    public struct Expression: Sendable, Equatable {
        public let value: RegoValue
        public let text: String
        public let row: Int
        public let column: Int
    }
    public let expressions: [Expression]
    public let bindings: [String: RegoValue]
}

/// Parses and compiles Rego modules once; evaluates queries against them.
///
/// Immutable after `init`: evaluation creates its own state per call, so one
/// engine may serve many threads at once.
public final class RegoEngine: @unchecked Sendable {
    let program: Program
    let moduleSources: [String: String]

    /// Options of evaluation.
    public struct Options: Sendable {
        /// When true, builtin errors (e.g. `div: divide by zero`) stop evaluation with an
        /// error; when false (OPA's default) they make the expression undefined.
        public var strictBuiltinErrors: Bool
        /// Wall-clock limit of one evaluation; nil for none.
        public var timeout: TimeInterval?

        public init(strictBuiltinErrors: Bool = false, timeout: TimeInterval? = 10) {
            self.strictBuiltinErrors = strictBuiltinErrors
            self.timeout = timeout
        }
    }
    public let options: Options

    /// Parses and compiles the modules; `data` is the base document (`data.*`).
    /// Throws `RegoError` with file, line and column for syntax and compile errors.
    public convenience init(modules: [RegoModule], data: RegoValue) throws {
        try self.init(modules: modules, data: data, options: Options())
    }

    /// Parses and compiles the modules with explicit evaluation options.
    public init(modules: [RegoModule], data: RegoValue, options: Options) throws {
        var sources: [String: String] = [:]
        for m in modules { sources[m.name] = m.source }
        var parsed: [Module] = []
        for m in modules {
            var parser = try Parser(file: m.name, source: m.source)
            parsed.append(try parser.parseModule())
        }
        self.program = try Program(modules: parsed, data: data)
        self.moduleSources = sources
        self.options = options
    }

    /// Parses a module without compiling it: the syntax check `opa parse` does.
    public static func parse(_ module: RegoModule) throws {
        var parser = try Parser(file: module.name, source: module.source)
        _ = try parser.parseModule()
    }

    /// Evaluates a reference such as "data.swiftdeploy.canary" with `input`; nil when undefined.
    ///
    /// This reads a document, as OPA's Data API does: a rule whose value is `false` gives
    /// `false` (a query `data.p.allow` would fail instead, see `queryResults`).
    public func evaluate(path: String, input: RegoValue?) throws -> RegoValue? {
        let results = try evaluateQuery(path, input: input, document: true)
        return results.first?.expressions.first?.value
    }

    /// Evaluates a query and returns the result set (one binding map per solution) like `opa eval`.
    public func query(_ query: String, input: RegoValue?) throws -> [[String: RegoValue]] {
        try queryResults(query, input: input).map(\.bindings)
    }

    /// Evaluates a query and returns each solution with its expression values and bindings.
    ///
    /// Query semantics are OPA's: in a query with iteration or more than one expression, an
    /// expression whose value is `false` fails, so `data.t.scores[name] > 0.98` yields only the
    /// names that pass; a single expression without iteration reports its value, `false` included
    /// (`data.t.scores.db > 0.98` is one row with value false), exactly as `opa eval` does.
    public func queryResults(_ query: String, input: RegoValue?) throws -> [RegoQueryResult] {
        try evaluateQuery(query, input: input, document: false)
    }

    private let queryCacheLock = NSLock()
    private var queryCache: [String: CompiledQuery] = [:]

    /// A query compiled once: its body and what reporting its results needs.
    struct CompiledQuery {
        let exprs: [Expr]
        /// The source text of each expression, as opa shows it.
        let texts: [String]
        /// Variables reported as bindings (the query's own, not generated ones).
        let userVars: Set<String>
        /// The term of each captured expression (a term whose value is reported), else nil.
        let captured: [Term?]
        /// OPA's `checkCapture`: with iteration or more than one expression, a captured value
        /// `false` fails the query; a single expression without iteration reports it (`1 > 2` is a
        /// row with value false, as `opa eval` prints it).
        let failOnFalse: Bool
    }

    /// OPA's `iteration`: a reference with a variable in its path, outside comprehensions.
    static func iterates(_ t: Term) -> Bool {
        switch t {
        case .ref(let h, let p):
            for x in p { if case .variable(let v) = x, !Compiler.isRoot(v) { return true } }
            return iterates(h) || p.contains(where: iterates)
        case .array(let xs), .set(let xs): return xs.contains(where: iterates)
        case .object(let es): return es.contains { iterates($0.key) || iterates($0.value) }
        case .call(_, let args, _): return args.contains(where: iterates)
        default: return false
        }
    }

    static func iterates(_ e: Expr) -> Bool {
        switch e.kind {
        case .term(let t): return iterates(t)
        case .unify(let a, let b), .assign(let a, let b): return iterates(a) || iterates(b)
        case .someIn: return true
        case .some, .every: return false
        }
    }

    /// Compiled queries are cached: a decision path is usually asked many times.
    func compiledQuery(_ query: String) throws -> CompiledQuery {
        queryCacheLock.lock()
        if let hit = queryCache[query] {
            queryCacheLock.unlock()
            return hit
        }
        queryCacheLock.unlock()
        let body = try program.compileQuery(query)
        let lines = query.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var userVars = VarSet()
        for e in body.exprs { userVars.formUnion(program.compiler.topVars(e)) }
        // Like `opa eval`, a term expression is captured: its value is reported (and fails the query when false).
        let captured: [Term?] = body.exprs.map { e in
            guard case .term(let t) = e.kind, e.withs.isEmpty, !e.negated, !e.generated else { return nil }
            if case .call(let name, let args, _) = t,
                let arity = program.compiler.functionArity[name.joined(separator: ".")], arity >= 0,
                args.count == arity + 1
            {
                return nil
            }
            return t
        }
        let compiled = CompiledQuery(
            exprs: body.exprs, texts: body.exprs.map { Self.text(of: $0, lines) },
            userVars: Set(userVars.names.filter { !$0.contains("$") }), captured: captured,
            failOnFalse: body.exprs.count(where: { !$0.generated }) > 1 || body.exprs.contains(where: Self.iterates))
        queryCacheLock.lock()
        if queryCache.count > 256 { queryCache.removeAll() }
        queryCache[query] = compiled
        queryCacheLock.unlock()
        return compiled
    }

    /// `document`: read the query's single term as a document, keeping a `false` value (Data API).
    func evaluateQuery(_ query: String, input: RegoValue?, document: Bool = false) throws -> [RegoQueryResult] {
        let compiled = try compiledQuery(query)
        let evaluator = Evaluator(
            program: program, input: input, strict: options.strictBuiltinErrors,
            deadline: options.timeout.map { Date().addingTimeInterval($0) })
        var results: [RegoQueryResult] = []
        let userVars = compiled.userVars
        // Evaluate expression by expression so each one's value can be reported: depth-first on
        // an explicit stack of choice points, as the evaluator runs bodies.
        let exprs = compiled.exprs
        let texts = compiled.texts
        let captured = compiled.captured
        typealias Partial = (env: Env, values: [RegoQueryResult.Expression])
        var frames: [[Partial]] = [[([:], [])]]
        while let top = frames.indices.last {
            guard let partial = frames[top].popLast() else {
                frames.removeLast()
                continue
            }
            let (env, values) = partial
            if top == exprs.count {
                var bindings: [String: RegoValue] = [:]
                for v in userVars { if let x = env[v] { bindings[v] = x } }
                results.append(RegoQueryResult(expressions: values, bindings: bindings))
                continue
            }
            let e = exprs[top]
            func expression(_ v: RegoValue) -> RegoQueryResult.Expression {
                .init(value: v, text: texts[top], row: e.location.line, column: e.location.column)
            }
            var next: [Partial] = []
            if let t = captured[top] {
                var solutions: [Solution] = []
                try evaluator.evalTerm(t, env, &solutions)
                for (v, env2) in solutions {
                    // A false expression fails a query with iteration or several expressions (OPA);
                    // a document read keeps it.
                    if v == .bool(false) && !document && compiled.failOnFalse { continue }
                    next.append((env2, values + [expression(v)]))
                }
            } else {
                var envs: [Env] = []
                try evaluator.evalExpr(e, env, &envs)
                // A statement the compiler wrote is not one of the query's expressions.
                for env2 in envs { next.append((env2, e.generated ? values : values + [expression(.bool(true))])) }
            }
            if !next.isEmpty {
                next.reverse()
                frames.append(next)
            }
        }
        return results
    }

    static func text(of e: Expr, _ lines: [String]) -> String {
        // The query's own text for single-line queries, as opa shows it.
        guard e.location.line - 1 < lines.count else { return "" }
        let line = lines[e.location.line - 1]
        let start = line.index(line.startIndex, offsetBy: min(e.location.column - 1, line.count))
        return String(line[start...]).split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }
}
