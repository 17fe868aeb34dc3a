import Foundation

/// A compile-time type checker for builtin calls and references, after OPA's.
///
/// Runs on every compiled rule and query (so `policy eval`, `policy test`, `validate` and every
/// decision path see it) and throws OPA's `rego_type_error` with the call's location:
///
/// - a builtin called with an argument whose type cannot match its signature
///   (`count: invalid argument(s)` with `have:` and `want:` lines);
/// - a builtin called with the wrong number of arguments (`arity mismatch`);
/// - a call of a function that does not exist (`undefined function`), or of a builtin this
///   engine does not support (`http.send`, …: `not supported by this engine`, with the reason);
/// - a reference into a rule whose value is a scalar (`undefined ref: data.p.x.y`).
///
/// Types are inferred from literals, composites, builtin results, local variables assigned
/// from them, and rules and user functions by their values (`ruleType`, `clausesType`);
/// `input`, other references into `data` and anything unknown are `any`, so the checker never
/// rejects a policy OPA accepts: it finds a subset of what OPA's checker finds.
struct TypeChecker {
    let program: Program
    /// Types of rules inferred so far (see `ruleType`), shared by the copies of this checker.
    let inferred = InferredRuleTypes()
    /// False inside a statement with `with`: references are typed but their keys not checked.
    var checksKeys = true

    final class InferredRuleTypes {
        var types: [[String]: RegoType] = [:]
        var inProgress: Set<[String]> = []
        var scalarRules: [[String]: RegoType]?
    }

    /// `scalarRules()`, computed once per checker.
    var scalarRulesCache: [[String]: RegoType] {
        if let s = inferred.scalarRules { return s }
        let s = scalarRules()
        inferred.scalarRules = s
        return s
    }

    /// Builtins OPA has and this engine deliberately does not: rejected at compile time with the reason.
    static let unsupported: [String: String] = [
        "http.send": "policies have no network access here; fetch the data first and pass it as input or data",
        "net.lookup_ip_addr":
            "policies have no network access (DNS) here; resolve addresses first and pass them as input",
        "regex.globs_match": "intersecting two regular expressions is not implemented",
        "strings.render_template": "Go's text/template is not implemented",
        "json.verify_schema": "JSON Schema validation is not implemented",
        "json.match_schema": "JSON Schema validation is not implemented",
        "rego.parse_module": "OPA's AST as JSON is not produced",
        "crypto.parse_private_keys": "private key parsing into JWKs is not implemented",
    ]

    /// Whole namespaces left out, with the reason.
    static let unsupportedPrefixes: [(String, String)] = [
        ("crypto.x509.", "X.509 certificate parsing and verification are not implemented"),
        ("rego.metadata.", "METADATA annotations are not parsed"),
    ]

    static func unsupportedReason(_ name: String) -> String? {
        unsupported[name] ?? unsupportedPrefixes.first { name.hasPrefix($0.0) }?.1
    }

    /// What a call of a builtin name is checked against, looked up once per call.
    enum BuiltinCheck {
        case unsupported(String)
        /// nil: a builtin without a fixed signature (variadic, or none declared).
        case signature(BuiltinSignature?)
    }

    /// Every builtin of the registry with its check, built once.
    static let builtinChecks: [String: BuiltinCheck] = {
        var out: [String: BuiltinCheck] = [:]
        for name in Builtins.table.keys {
            if let reason = unsupportedReason(name) {
                out[name] = .unsupported(reason)
            } else if let sig = BuiltinSignature.all[name], !sig.variadic {
                out[name] = .signature(sig)
            } else {
                out[name] = .signature(nil)
            }
        }
        return out
    }()

    typealias Env = [String: RegoType]

    /// Checks every rule of the program.
    func check() throws {
        let scalarRules = scalarRulesCache
        var stack = [program.root]
        while let node = stack.popLast() {
            for c in node.rules {
                let r = c.rule
                var env: Env = [:]
                try checkBody(r.body, &env, scalarRules)
                try Self.located(r.location) { _ = try type(of: r.value, env, scalarRules) }
                for e in r.elseClauses {
                    var elseEnv: Env = [:]
                    try checkBody(e.body, &elseEnv, scalarRules)
                    try Self.located(e.location) { _ = try type(of: e.value, elseEnv, scalarRules) }
                }
            }
            stack += node.sortedChildren.reversed().map(\.node)
        }
    }

    /// Runs `check`, giving an error without a location (a reference error) `location`.
    static func located(_ location: SourceLocation, _ check: () throws -> Void) throws {
        do {
            try check()
        } catch let err as RegoError where err.file == nil {
            throw RegoError(
                code: err.code, message: err.message, file: location.file, line: location.line, column: location.column)
        }
    }

    /// Checks a compiled query.
    func check(query: Body) throws {
        var env: Env = [:]
        try checkBody(query, &env, scalarRulesCache)
    }

    // MARK: rule types

    /// Paths of complete, ground, non-function rules whose every value is a scalar literal (`data.p.x` → number).
    func scalarRules() -> [[String]: RegoType] {
        var out: [[String]: RegoType] = [:]
        func visit(_ node: RuleNode, _ path: [String]) {
            let rules = node.rules.filter { !$0.rule.isFunction }
            if !rules.isEmpty, node.children.isEmpty,
                rules.allSatisfy({ $0.rule.kind == .singleValue && $0.rule.isGround })
            {
                var types: [RegoType] = []
                var scalar = true
                for r in rules {
                    for v in [r.rule.value] + r.rule.elseClauses.map(\.value) {
                        guard case .value(let x) = v else {
                            scalar = false
                            break
                        }
                        switch x {
                        case .null, .bool, .number, .string: types.append(RegoType.of(x))
                        default: scalar = false
                        }
                    }
                }
                if scalar, !types.isEmpty { out[["data"] + path] = RegoType.join(types) }
            }
            for (k, c) in node.children { visit(c, path + [k]) }
        }
        visit(program.root, [])
        return out
    }

    // MARK: bodies

    func checkBody(_ body: Body, _ env: inout Env, _ rules: [[String]: RegoType]) throws {
        for e in body.exprs {
            do {
                try checkExpr(e, &env, rules)
            } catch let err as RegoError where err.file == nil {
                // Reference errors take the location of their statement.
                throw RegoError(
                    code: err.code, message: err.message, file: e.location.file, line: e.location.line,
                    column: e.location.column)
            }
        }
    }

    func checkExpr(_ e: Expr, _ env: inout Env, _ rules: [[String]: RegoType]) throws {
        // OPA does not check the keys of references in a statement with `with` (measured:
        // `r.b with data.t.r as {"b": 1}` is accepted with `r := {"a": 1}`).
        if !e.withs.isEmpty && checksKeys {
            var lenient = self
            lenient.checksKeys = false
            return try lenient.checkExpr(e, &env, rules)
        }
        for w in e.withs { _ = try type(of: w.value, env, rules) }
        switch e.kind {
        case .term(let t):
            _ = try type(of: t, env, rules)
        case .assign(let lhs, let rhs), .unify(let lhs, let rhs):
            let l = try type(of: lhs, env, rules), r = try type(of: rhs, env, rules)
            if case .variable(let v) = lhs, env[v] == nil { env[v] = r }
            if case .variable(let v) = rhs, env[v] == nil { env[v] = l }
        case .some: break
        case .someIn(let key, let value, let domain):
            // OPA iterates `some … in d` as `d[k]`: a scalar domain is refused.
            let t = try type(of: domain, env, rules)
            if t.isScalar { throw Self.iterationError(domain, key, t) }
            Self.bindIteration(key, value, t, &env)
        case .every(_, _, let domain, let inner):
            // OPA's checker leaves the variables `every` declares untyped (measured:
            // `every x in [1] { startswith(x, "a") }` is an evaluation error in OPA, not a type error).
            _ = try type(of: domain, env, rules)
            var innerEnv = env
            try checkBody(inner, &innerEnv, rules)
        }
    }

    /// Types the variables `some k, v in d` declares as OPA's checker
    /// does: `v` by the elements of `d`'s type, `k` by its keys (a number for an array). A
    /// pattern that is not a plain variable, and a domain of unknown type, leave them `any`.
    static func bindIteration(_ key: Term?, _ value: Term, _ domain: RegoType, _ env: inout Env) {
        if case .variable(let v) = value, env[v] == nil { env[v] = domain.iterationElement }
        if let key, case .variable(let k) = key, env[k] == nil { env[k] = domain.iterationKey }
    }

    // MARK: terms

    func type(of t: Term, _ env: Env, _ rules: [[String]: RegoType]) throws -> RegoType {
        switch t {
        case .value(let v): return RegoType.of(v)
        case .variable(let v): return env[v] ?? .any
        case .ref(let head, let path):
            for p in path { _ = try type(of: p, env, rules) }
            if case .variable("data") = head {
                try checkRuleRef(path, rules)
                let (t, used) = ruleTypePrefix(path)
                return try Self.walk(t, ref: .ref(head, path), from: used, checksKeys: checksKeys)
            }
            // A reference into a local of known type (`x.a` after `x := {"a": 1}` or
            // `some x in [{"a": 1}]`) is typed step by step; anything else is `any`.
            if case .variable(let v) = head, let t = env[v] {
                return try Self.walk(t, ref: .ref(head, path), from: 0, checksKeys: checksKeys)
            }
            return .any
        case .array(let items): return .array(RegoType.join(try items.map { try type(of: $0, env, rules) }))
        case .set(let items): return .set(RegoType.join(try items.map { try type(of: $0, env, rules) }))
        case .object(let entries):
            let keys = try entries.map { try type(of: $0.key, env, rules) }
            let values = try entries.map { try type(of: $0.value, env, rules) }
            // Constant scalar keys, each once: OPA's static object type, whose keys are checked.
            var fields: [RegoType.Field] = []
            for (e, t) in zip(entries, values) {
                guard case .value(let k) = e.key, RegoType.of(k).isScalar, !fields.contains(where: { $0.key == k })
                else {
                    return .object(RegoType.join(keys), RegoType.join(values))
                }
                fields.append(.init(key: k, type: t))
            }
            if fields.isEmpty { return .object(.any, .any) }
            return .knownObject(fields.sorted { $0.key < $1.key })
        // Comprehensions are checked inside; their element types are left open, as OPA's checker does.
        case .arrayComprehension(let head, let body):
            var inner = env
            try checkBody(body, &inner, rules)
            _ = try type(of: head, inner, rules)
            return .array(.any)
        case .setComprehension(let head, let body):
            var inner = env
            try checkBody(body, &inner, rules)
            _ = try type(of: head, inner, rules)
            return .set(.any)
        case .objectComprehension(let k, let v, let body):
            var inner = env
            try checkBody(body, &inner, rules)
            _ = try type(of: k, inner, rules)
            _ = try type(of: v, inner, rules)
            return .object(.any, .any)
        case .call(let nameParts, let args, let loc):
            let argTypes = try args.map { try type(of: $0, env, rules) }
            return try checkCall(
                nameParts.count == 1 ? nameParts[0] : nameParts.joined(separator: "."), args, argTypes, loc)
        }
    }

    /// The type of `ref`'s value, given that the first `from` elements of its path have type
    /// `type`: each further element steps into an array's, set's or object's elements, or into a
    /// known object's field, as OPA's checker does. A key a known object (or a union of them)
    /// does not have, or a step into a scalar, is OPA's `undefined ref` type error. Anything
    /// not known is `any`.
    /// With `checksKeys` false such a step is `any` instead.
    static func walk(_ type: RegoType, ref: Term, from: Int, checksKeys: Bool) throws -> RegoType {
        guard case .ref(let head, let path) = ref else { return type }
        if !checksKeys { return from >= path.count ? type : .any }
        var t = type
        for i in path.indices where i >= from {
            let step = path[i]
            switch t {
            case .any: return .any
            case .array(let e), .set(let e): t = e
            case .object(_, let e): t = e
            case .knownObject(let fs):
                t = try field(of: [fs], step, ref)
            case .union(let ts):
                var all: [[RegoType.Field]] = []
                for m in ts {
                    guard case .knownObject(let fs) = m else { return .any }
                    all.append(fs)
                }
                t = try field(of: all, step, ref)
            case .null, .boolean, .number, .string:
                // OPA: `undefined ref: x.a.b` under the part that is a scalar, with its type.
                let whole = render(ref)
                let prefix = render(.ref(head, Array(path[..<i])))
                throw RegoError(
                    code: "rego_type_error",
                    message:
                        """
                        undefined ref: \
                        \(whole)\n\t\(whole)\n\t\(String(repeating: "^", count: prefix.count))\n\thave: \(t)
                        """
                )
            }
        }
        return t
    }

    /// The type of field `step` of known objects (one, or the members of a union): a constant
    /// key none of them has is OPA's `undefined ref` error; a key not known here is the union
    /// of all their fields' types.
    static func field(of objects: [[RegoType.Field]], _ step: Term, _ ref: Term) throws -> RegoType {
        guard case .value(let key) = step else {
            return RegoType.join(objects.flatMap { $0.map(\.type) })
        }
        let matches = objects.flatMap { fields in fields.filter { $0.key == key }.map(\.type) }
        if !matches.isEmpty { return RegoType.join(matches) }
        var keys: [RegoValue] = []
        for fs in objects { for f in fs where !keys.contains(f.key) { keys.append(f.key) } }
        let whole = render(ref)
        let want = keys.sorted().map { $0.jsonString() }.joined(separator: " ")
        throw RegoError(
            code: "rego_type_error",
            message:
                "undefined ref: \(whole)\n\t\(whole)\n\t ^\n\t have: \(key.jsonString())\n\t want (one of): [\(want)]")
    }

    /// The type of the longest prefix of `data.<path>` that is exactly the value of ground
    /// rules (`ruleType`), and the number of path elements it covers; `(any, path.count)`
    /// when there is none.
    func ruleTypePrefix(_ path: [Term]) -> (RegoType, Int) {
        var names = ["data"]
        var node = program.root
        for (i, p) in path.enumerated() {
            guard case .value(.string(let s)) = p, let next = node.children[s] else { return (.any, path.count) }
            names.append(s)
            node = next
            if node.children.isEmpty, !node.rules.isEmpty {
                guard node.rules.allSatisfy({ !$0.rule.isFunction && $0.isGround }) else { return (.any, path.count) }
                return (clausesType(names, node.rules), i + 1)
            }
        }
        return (.any, path.count)
    }

    /// The type of the document at `data.<path>` when it is exactly the value of ground rules
    /// (OPA's checker types a rule by its value: `r := "a"` is a string, `p if …` a boolean,
    /// `s contains x` a set), else `any`.
    ///
    /// A complete rule's type is the union of its clauses' values (`default` and `else` ones
    /// included), each typed in its body's environment; a multi-value rule's is a set of the
    /// union of its elements. Functions, rules with dynamic keys and nodes holding other rules
    /// below are `any`, as are rules still being inferred (a cycle), so this types a subset of
    /// what OPA's checker types and never more narrowly.
    func ruleType(_ path: [Term]) -> RegoType {
        var names = ["data"]
        var node = program.root
        for p in path {
            guard case .value(.string(let s)) = p, let next = node.children[s] else { return .any }
            names.append(s)
            node = next
        }
        guard node.children.isEmpty, !node.rules.isEmpty, node.rules.allSatisfy({ !$0.rule.isFunction && $0.isGround })
        else { return .any }
        return clausesType(names, node.rules)
    }

    /// The union of the values of `rules` and their `else` clauses, each typed in its body's
    /// environment (a set of it for multi-value rules); `key` names the result in the cache.
    /// A function's parameters are `any`: its result is typed from its definition, as OPA does.
    func clausesType(_ key: [String], _ rules: [CompiledRule]) -> RegoType {
        if let t = inferred.types[key] { return t }
        if inferred.inProgress.contains(key) { return .any }
        inferred.inProgress.insert(key)
        defer { inferred.inProgress.remove(key) }
        let kinds = Set(rules.map { $0.rule.kind == .singleValue })
        guard kinds.count == 1 else { return .any }
        let scalar = scalarRulesCache
        var types: [RegoType] = []
        for c in rules {
            let r = c.rule
            var clauses = [(r.body, r.value)]
            clauses += r.elseClauses.map { ($0.body, $0.value) }
            for (body, value) in clauses {
                var env: Env = [:]
                // A clause the checker refuses is reported by `check`; here it only leaves the type open.
                guard (try? checkBody(body, &env, scalar)) != nil, let t = try? type(of: value, env, scalar) else {
                    return .any
                }
                types.append(t)
            }
        }
        var t = RegoType.join(types)
        if rules[0].rule.kind == .multiValue { t = .set(t) }
        inferred.types[key] = t
        return t
    }

    /// OPA's error for `some … in` over a scalar: `match error` for a literal, else
    /// `undefined ref: d[k]` with the domain's type (the statement's location is added by `checkBody`).
    static func iterationError(_ domain: Term, _ key: Term?, _ t: RegoType) -> RegoError {
        if case .value = domain {
            return RegoError(code: "rego_type_error", message: "match error\n\tleft  : ???\n\tright : ???")
        }
        let d = render(domain)
        let text = "\(d)[\(key.map(render) ?? "__local0__")]"
        return RegoError(
            code: "rego_type_error",
            message: "undefined ref: \(text)\n\t\(text)\n\t\(String(repeating: "^", count: d.count))\n\thave: \(t)")
    }

    /// A term as OPA prints it in messages (operators by their builtin names, variables as written).
    static func render(_ t: Term) -> String {
        switch t {
        case .value(let v): return v.jsonString()
        case .variable(let v):
            if v.hasPrefix("$_") { return "_" }
            return v.split(separator: "$").first.map(String.init) ?? v
        case .ref(let h, let path):
            var out = render(h)
            for p in path {
                if case .value(.string(let s)) = p, let f = s.unicodeScalars.first,
                    f == "_" || CharacterSet.letters.contains(f),
                    s.unicodeScalars.allSatisfy({ $0 == "_" || CharacterSet.alphanumerics.contains($0) })
                {
                    out += "." + s
                } else {
                    out += "[\(render(p))]"
                }
            }
            return out
        case .array(let items): return "[" + items.map(render).joined(separator: ", ") + "]"
        case .set(let items): return "{" + items.map(render).joined(separator: ", ") + "}"
        case .object(let entries):
            return "{" + entries.map { "\(render($0.key)): \(render($0.value))" }.joined(separator: ", ") + "}"
        case .arrayComprehension(let h, _): return "[\(render(h)) | …]"
        case .setComprehension(let h, _): return "{\(render(h)) | …}"
        case .objectComprehension(let k, let v, _): return "{\(render(k)): \(render(v)) | …}"
        case .call(let name, let args, _):
            return name.joined(separator: ".") + "(" + args.map(render).joined(separator: ", ") + ")"
        }
    }

    func checkRuleRef(_ path: [Term], _ rules: [[String]: RegoType]) throws {
        if rules.isEmpty { return }
        var names = ["data"]
        for (i, p) in path.enumerated() {
            guard case .value(.string(let s)) = p else { return }
            names.append(s)
            if let t = rules[names], i + 1 < path.count {
                var full = names.joined(separator: ".")
                for q in path[(i + 1)...] {
                    if case .value(.string(let x)) = q {
                        full += ".\(x)"
                    } else if case .value(let x) = q {
                        full += "[\(x.jsonString())]"
                    } else {
                        full += "[_]"
                    }
                }
                let prefix = names.joined(separator: ".")
                throw RegoError(
                    code: "rego_type_error",
                    message:
                        """
                        undefined ref: \
                        \(full)\n\t\(full)\n\t\(String(repeating: "^", count: prefix.count))\n\thave: \(t)
                        """
                )
            }
        }
    }

    func checkCall(_ name: String, _ args: [Term], _ argTypes: [RegoType], _ loc: SourceLocation) throws -> RegoType {
        func fail(_ message: String) -> RegoError {
            RegoError(code: "rego_type_error", message: message, file: loc.file, line: loc.line, column: loc.column)
        }
        let sig: BuiltinSignature
        switch Self.builtinChecks[name] {
        case .unsupported(let reason)?:
            throw fail("\(name): not supported by this engine: \(reason)")
        case .signature(let s)?:
            guard let s else { return .any }
            sig = s
        case nil:
            if let reason = Self.unsupportedReason(name) {
                throw fail("\(name): not supported by this engine: \(reason)")
            }
            if name.hasPrefix("data.") {
                let path = name.split(separator: ".").map(String.init)
                guard let fns = program.functionRules(path) else {
                    throw fail("undefined function \(name)")
                }
                return clausesType(["\u{0}fn"] + path, fns)
            }
            throw fail("undefined function \(name)")
        }
        // Built only for a message: most calls check clean.
        var have: String { "(" + argTypes.map(\.description).joined(separator: ", ") + ")" }
        guard argTypes.count == sig.args.count || argTypes.count == sig.args.count + 1 else {
            throw fail("\(name): arity mismatch\n\thave: \(have)\n\twant: \(sig.wantDescription)")
        }
        for (i, want) in sig.args.enumerated() where !argTypes[i].unifies(want) {
            throw fail("\(name): invalid argument(s)\n\thave: \(have)\n\twant: \(sig.wantDescription)")
        }
        if argTypes.count == sig.args.count + 1, !argTypes[sig.args.count].unifies(sig.result) {
            throw fail(
                """
                \(name): invalid argument(s)\n\thave: \(have)\n\twant: \(sig.wantDescription.dropLast()), output: \
                \(sig.result))
                """
            )
        }
        return sig.result
    }
}

extension RegoType {
    /// The type of the values `some … in` walks in a collection of this type; `any` when unknown.
    var iterationElement: RegoType {
        switch self {
        case .array(let e), .set(let e): return e
        case .object(_, let v): return v
        case .knownObject(let fs): return RegoType.join(fs.map(\.type))
        default: return .any
        }
    }

    /// The type of the keys `some k, … in` walks in a collection of this type (an array's
    /// indexes are numbers, a set's keys its elements); `any` when unknown.
    var iterationKey: RegoType {
        switch self {
        case .array: return .number
        case .set(let e): return e
        case .object(let k, _): return k
        case .knownObject(let fs): return RegoType.join(fs.map { RegoType.of($0.key) })
        default: return .any
        }
    }
}
