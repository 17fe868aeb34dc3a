/// Resolves names, scopes local variables and orders body statements for safety.
///
/// After compilation every rule reference is an absolute `data.…` ref, imports
/// are expanded, variables declared in nested scopes (comprehensions, `every`)
/// are renamed apart, and each body is reordered so a statement only runs once
/// the variables it reads are bound (OPA's out-of-order evaluation).
struct Compiler {
    /// First names of the rules of each package (`["a","b"]` → {"p","q"}).
    var ruleNames: [[String]: Set<String>] = [:]
    var freshCounter = 0
    /// Arity of callables known to the compiler: builtins plus user functions by full path.
    var functionArity: [String: Int] = [:]

    struct Scope {
        var package: [String]
        var imports: [String: [String]]  // alias → path (with root)
        var renames: [String: String] = [:]
        /// Variables visible from enclosing bodies.
        var outer: VarSet = []
        /// Variables of enclosing bodies assigned (`:=`) only after the current statement.
        var hidden: VarSet = []
        /// `ruleNames[package]`, looked up once per scope rather than once per name.
        var packageRules: Set<String> = []

        init(package: [String], imports: [String: [String]], packageRules: Set<String> = []) {
            self.package = package
            self.imports = imports
            self.packageRules = packageRules
        }
    }

    mutating func fresh(_ name: String) -> String {
        freshCounter += 1
        return "\(name)$\(freshCounter)"
    }

    // MARK: name resolution

    /// What the name `name` stands for, or nil when it stays the variable it is (a local, a
    /// root, anything unknown), so no new term is built for it.
    func resolvedName(_ name: String, _ scope: Scope, locals: VarSet) -> Term? {
        // Empty dictionaries are skipped: a look-up hashes the name even in an empty one.
        if !scope.renames.isEmpty, let r = scope.renames[name] { return .variable(r) }
        if locals.contains(name) || name.hasPrefix("$") { return nil }
        if name == "data" || name == "input" { return nil }
        if !scope.imports.isEmpty, let path = scope.imports[name] {
            return .ref(.variable(path[0]), path.dropFirst().map { .value(.string($0)) })
        }
        if scope.packageRules.contains(name) {
            return .ref(.variable("data"), (scope.package + [name]).map { .value(.string($0)) })
        }
        return nil
    }

    /// Names declared in a body at its own level (`some`, `:=`, `some … in`).
    func declaredNames(_ body: Body) -> [String] {
        var out: [String] = []
        for e in body.exprs {
            switch e.kind {
            case .some(let names): out += names
            case .assign(let lhs, _): out += patternVars(lhs)
            case .someIn(let k, let v, _):
                if let k { out += patternVars(k) }
                out += patternVars(v)
            default: break
            }
        }
        return out
    }

    func patternVars(_ t: Term) -> [String] {
        switch t {
        case .variable(let v): return v.hasPrefix("$_") ? [] : [v]
        case .array(let items): return items.flatMap(patternVars)
        case .object(let entries): return entries.flatMap { patternVars($0.value) }
        default: return []
        }
    }

    /// How a name first occurred in a body, for OPA's declaration errors.
    enum Occurrence { case seen, assigned, declared, argument }

    /// OPA's declaration errors (`rewriteDeclaredVar`), in statement order: a name declared by `:=`,
    /// `some` or `some … in` must not occur earlier in the same body (`var x referenced above`),
    /// nor be declared twice (`assigned above`, `declared above`), nor redeclare a function's
    /// parameter (`arg x redeclared`). Names in nested bodies are their own scope.
    func checkDeclarations(
        _ body: Body, declared initial: [String], arguments: Bool, declaredHere: [String], headVars: VarSet = []
    ) throws {
        // Only a name this body declares can be in error: nothing to track without one.
        if declaredHere.isEmpty { return }
        var occurrence: [String: Occurrence] = [:]
        for v in initial { occurrence[v] = arguments ? .argument : .declared }
        let tracked = VarSet(declaredHere)
        func seen(_ t: Term) {
            switch t {
            case .value, .arrayComprehension, .setComprehension, .objectComprehension: return
            case .variable(let v): if tracked.contains(v), occurrence[v] == nil { occurrence[v] = .seen }
            case .ref(let h, let p):
                seen(h)
                for x in p { seen(x) }
            case .array(let i), .set(let i): for x in i { seen(x) }
            case .object(let e):
                for x in e {
                    seen(x.key)
                    seen(x.value)
                }
            case .call(_, let args, _): for x in args { seen(x) }
            }
        }
        func declare(_ v: String, _ kind: Occurrence, _ e: Expr) throws {
            guard !v.hasPrefix("$") else { return }
            let message: String
            switch occurrence[v] {
            case nil:
                occurrence[v] = kind
                return
            case .seen: message = "var \(v) referenced above"
            case .assigned: message = "var \(v) assigned above"
            case .declared: message = "var \(v) declared above"
            case .argument: message = "arg \(v) redeclared"
            }
            throw RegoError(
                code: "rego_compile_error", message: message, file: e.location.file, line: e.location.line,
                column: e.location.column)
        }
        // OPA: a name `some x` declares must be used in the body (or the rule's head).
        for (i, e) in body.exprs.enumerated() {
            guard case .some(let names) = e.kind else { continue }
            var used = headVars
            for (j, x) in body.exprs.enumerated() where j != i { collectVars(x, &used) }
            for name in names where !name.hasPrefix("$") && !used.contains(name) {
                throw RegoError(
                    code: "rego_compile_error", message: "declared var \(name) unused", file: e.location.file,
                    line: e.location.line, column: e.location.column)
            }
        }
        for e in body.exprs {
            for w in e.withs { seen(w.value) }
            switch e.kind {
            case .assign(let lhs, let rhs):
                seen(rhs)
                for v in patternVars(lhs) { try declare(v, .assigned, e) }
            case .some(let names):
                for v in names { try declare(v, .declared, e) }
            case .someIn(let k, let v, let d):
                seen(d)
                for x in (k.map(patternVars) ?? []) + patternVars(v) { try declare(x, .declared, e) }
            case .every(_, _, let d, _):
                seen(d)
            case .term(let t): seen(t)
            case .unify(let a, let b):
                seen(a)
                seen(b)
            }
        }
    }

    /// `mayNest` false: the body holds no nested body (the parser's `Rule.hasNestedBodies`).
    mutating func resolveBody(
        _ body: Body, _ scope: Scope, nested: Bool, extraDeclared: [String] = [], arguments: Bool = false,
        headVars: VarSet = [], mayNest: Bool = true
    ) throws -> (Body, Scope) {
        var scope = scope
        var declared = declaredNames(body)
        try checkDeclarations(
            body, declared: extraDeclared, arguments: arguments, declaredHere: declared, headVars: headVars)
        declared += extraDeclared
        if nested {
            for d in declared where !d.hasPrefix("$") { scope.renames[d] = fresh(d) }
            // Variables an enclosing body declares with `:=` only later are not visible here:
            // a same-named variable in this body is its own local.
            var mentioned = VarSet()
            for e in body.exprs { collectVars(e, &mentioned) }
            for h in scope.hidden where mentioned.contains(h) && scope.renames[h] == nil { scope.renames[h] = fresh(h) }
            scope.hidden = []
        } else {
            for d in declared { scope.renames.removeValue(forKey: d) }
        }
        let locals = VarSet(declared)
        var exprs: [Expr] = []
        exprs.reserveCapacity(body.exprs.count)
        // Only nested bodies (comprehensions, `every`) read `hidden`: most bodies have none.
        let nestedAt = mayNest ? body.exprs.map(hasNestedBody) : []
        guard nestedAt.contains(true) else {
            for e in body.exprs { exprs.append(try resolveExpr(e, scope, locals: locals)) }
            return (Body(exprs: exprs), scope)
        }
        // Names assigned with := at or after each statement (hidden from closures before it).
        var assignedFrom: [VarSet] = Array(repeating: [], count: body.exprs.count + 1)
        for i in stride(from: body.exprs.count - 1, through: 0, by: -1) {
            assignedFrom[i] = assignedFrom[i + 1]
            if case .assign(let lhs, _) = body.exprs[i].kind { assignedFrom[i].formUnion(patternVars(lhs)) }
        }
        for (i, e) in body.exprs.enumerated() {
            guard nestedAt[i], !assignedFrom[i].isEmpty else {
                exprs.append(try resolveExpr(e, scope, locals: locals))
                continue
            }
            var s = scope
            s.hidden = scope.hidden.union(assignedFrom[i])
            exprs.append(try resolveExpr(e, s, locals: locals))
        }
        return (Body(exprs: exprs), scope)
    }

    mutating func resolveExpr(_ e: Expr, _ scope: Scope, locals: VarSet) throws -> Expr {
        var out = e
        switch e.kind {
        case .term(let t): out.kind = .term(try resolveTerm(t, scope, locals))
        case .unify(let a, let b):
            out.kind = .unify(try resolveTerm(a, scope, locals), try resolveTerm(b, scope, locals))
        case .assign(let a, let b):
            // The left side of := always names locals, even when a rule has the same name.
            out.kind = .assign(
                try resolveTerm(a, scope, locals.union(patternVars(a))), try resolveTerm(b, scope, locals))
        case .some(let names): out.kind = .some(names.map { scope.renames[$0] ?? $0 })
        case .someIn(let k, let v, let d):
            let l = locals.union(patternVars(v)).union(k.map(patternVars) ?? [])
            out.kind = .someIn(
                key: try k.map { try resolveTerm($0, scope, l) }, value: try resolveTerm(v, scope, l),
                domain: try resolveTerm(d, scope, locals))
        case .every(let k, let v, let d, let body):
            // OPA: a variable `every` declares must be used in its body.
            var inBody = VarSet()
            for x in body.exprs { collectVars(x, &inBody) }
            for name in (k.map(patternVars) ?? []) + patternVars(v) where !inBody.contains(name) {
                throw RegoError(
                    code: "rego_compile_error", message: "declared var \(name) unused", file: e.location.file,
                    line: e.location.line, column: e.location.column)
            }
            var declared = patternVars(v)
            if let k { declared += patternVars(k) }
            let (nb, inner) = try resolveBody(body, scope, nested: true, extraDeclared: declared)
            let l = locals.union(declared)
            out.kind = .every(
                key: try k.map { try resolveTerm($0, inner, l) }, value: try resolveTerm(v, inner, l),
                domain: try resolveTerm(d, scope, locals), body: nb)
        }
        out.withs = try e.withs.map { w in
            With(target: try resolveWithTarget(w.target, scope), value: try resolveTerm(w.value, scope, locals))
        }
        return out
    }

    func resolveWithTarget(_ t: Term, _ scope: Scope) throws -> Term {
        // Targets are input/data refs or function names; resolve aliases of rules and imports.
        switch t {
        case .variable(let v):
            if v == "input" || v == "data" { return t }
            if let path = scope.imports[v] {
                return .ref(.variable(path[0]), path.dropFirst().map { .value(.string($0)) })
            }
            if scope.packageRules.contains(v) {
                return .ref(.variable("data"), (scope.package + [v]).map { .value(.string($0)) })
            }
            return t
        case .ref(.variable(let v), let path):
            if v == "input" || v == "data"
                || Builtins.isBuiltinPrefix(v) && scope.imports[v] == nil && !scope.packageRules.contains(v)
            {
                return t
            }
            let head = try resolveWithTarget(.variable(v), scope)
            if case .ref(let h, let p) = head { return .ref(h, p + path) }
            return t
        default: return t
        }
    }

    mutating func resolveTerm(_ t: Term, _ scope: Scope, _ locals: VarSet) throws -> Term {
        try resolvedTerm(t, scope, locals) ?? t
    }

    /// `t` with its names resolved, or nil when resolving changes nothing in it (most terms of
    /// a policy: `input.x.y`, locals, literals), so that no part of it is rebuilt.
    mutating func resolvedTerm(_ t: Term, _ scope: Scope, _ locals: VarSet) throws -> Term? {
        switch t {
        case .value: return nil
        case .variable(let v): return resolvedName(v, scope, locals: locals)
        case .ref(let head, let path):
            let h = try resolvedTerm(head, scope, locals)
            let p = try resolvedTerms(path, scope, locals)
            if h == nil && p == nil { return nil }
            let newHead = h ?? head, newPath = p ?? path
            if case .ref(let hh, let hp) = newHead { return .ref(hh, hp + newPath) }
            return .ref(newHead, newPath)
        case .array(let items): return try resolvedTerms(items, scope, locals).map { .array($0) }
        case .set(let items): return try resolvedTerms(items, scope, locals).map { .set($0) }
        case .object(let entries):
            var out: [Term.ObjectEntry]? = nil
            for (i, e) in entries.enumerated() {
                let k = try resolvedTerm(e.key, scope, locals), v = try resolvedTerm(e.value, scope, locals)
                if out == nil, k != nil || v != nil { out = Array(entries[..<i]) }
                out?.append(Term.ObjectEntry(key: k ?? e.key, value: v ?? e.value))
            }
            return out.map { .object($0) }
        case .arrayComprehension(let head, let body):
            let (b, inner) = try resolveBody(body, scope, nested: true)
            return .arrayComprehension(try resolveTerm(head, inner, locals), b)
        case .setComprehension(let head, let body):
            let (b, inner) = try resolveBody(body, scope, nested: true)
            return .setComprehension(try resolveTerm(head, inner, locals), b)
        case .objectComprehension(let k, let v, let body):
            let (b, inner) = try resolveBody(body, scope, nested: true)
            return .objectComprehension(try resolveTerm(k, inner, locals), try resolveTerm(v, inner, locals), b)
        case .call(let name, let args, let loc):
            let a = try resolvedTerms(args, scope, locals)
            let n = resolvedCallName(name, scope)
            if a == nil && n == nil { return nil }
            return .call(n ?? name, a ?? args, loc)
        }
    }

    /// `ts` resolved, or nil when no element changes.
    mutating func resolvedTerms(_ ts: [Term], _ scope: Scope, _ locals: VarSet) throws -> [Term]? {
        var out: [Term]? = nil
        for (i, x) in ts.enumerated() {
            let r = try resolvedTerm(x, scope, locals)
            if out == nil, r != nil {
                out = Array(ts[..<i])
                out!.reserveCapacity(ts.count)
            }
            if out != nil { out!.append(r ?? x) }
        }
        return out
    }

    /// The full name of a called function, or nil when the name stays as written (a builtin,
    /// an absolute `data.…` name).
    func resolvedCallName(_ name: [String], _ scope: Scope) -> [String]? {
        let first = name[0]
        if first == "data" { return nil }
        if !scope.imports.isEmpty, let path = scope.imports[first], path[0] == "data" { return path + name.dropFirst() }
        if scope.packageRules.contains(first) {
            return ["data"] + scope.package + name
        }
        return nil
    }

    // MARK: safety ordering

    struct Usage {
        var needs: VarSet = []
        var binds: VarSet = []
    }

    static func isRoot(_ v: String) -> Bool { v == "data" || v == "input" }

    func usage(of t: Term, pattern: Bool, into u: inout Usage, outputArity: Bool = false) {
        switch t {
        case .value: break
        case .variable(let v):
            if Compiler.isRoot(v) { return }
            if pattern { u.binds.insert(v) } else { u.needs.insert(v) }
        case .ref(let head, let path):
            if case .variable(let v) = head {
                if !Compiler.isRoot(v) { u.needs.insert(v) }
            } else {
                usage(of: head, pattern: false, into: &u)
            }
            for p in path {
                switch p {
                case .variable(let v): u.binds.insert(v)
                case .array, .object: usage(of: p, pattern: true, into: &u)
                default: usage(of: p, pattern: false, into: &u)
                }
            }
        case .array(let items): for i in items { usage(of: i, pattern: pattern, into: &u) }
        case .set(let items): for i in items { usage(of: i, pattern: false, into: &u) }
        case .object(let entries):
            for e in entries {
                usage(of: e.key, pattern: false, into: &u)
                usage(of: e.value, pattern: pattern, into: &u)
            }
        case .arrayComprehension(let h, let b), .setComprehension(let h, let b):
            for v in freeVars(h, b) { u.needs.insert(v) }
        case .objectComprehension(let k, let v, let b):
            for x in freeVars(.array([k, v]), b) { u.needs.insert(x) }
        case .call(let name, let args, _):
            // Only a statement's own call can have an output argument: no look-up for the rest.
            let arity = outputArity ? functionArity[name.count == 1 ? name[0] : name.joined(separator: ".")] : nil
            for (i, a) in args.enumerated() {
                if outputArity, let arity, i == arity, i == args.count - 1 {
                    usage(of: a, pattern: true, into: &u)
                } else {
                    usage(of: a, pattern: false, into: &u)
                }
            }
        }
    }

    /// Variables a nested body reads from its enclosing scope: all variables mentioned
    /// that are not renamed locals (renamed ones contain `$`).
    func freeVars(_ head: Term, _ body: Body) -> VarSet {
        var all = VarSet()
        collectVars(head, &all)
        for e in body.exprs { collectVars(e, &all) }
        return all.filter { !$0.contains("$") }
    }

    func collectVars(_ e: Expr, _ out: inout VarSet) {
        switch e.kind {
        case .term(let t): collectVars(t, &out)
        case .unify(let a, let b), .assign(let a, let b):
            collectVars(a, &out)
            collectVars(b, &out)
        case .some(let names): out.formUnion(names)
        case .someIn(let k, let v, let d):
            if let k { collectVars(k, &out) }
            collectVars(v, &out)
            collectVars(d, &out)
        case .every(let k, let v, let d, let b):
            if let k { collectVars(k, &out) }
            collectVars(v, &out)
            collectVars(d, &out)
            for x in b.exprs { collectVars(x, &out) }
        }
        for w in e.withs { collectVars(w.value, &out) }
    }

    func collectVars(_ t: Term, _ out: inout VarSet) {
        switch t {
        case .value: break
        case .variable(let v): if !Compiler.isRoot(v) { out.insert(v) }
        case .ref(let h, let p):
            collectVars(h, &out)
            for x in p { collectVars(x, &out) }
        case .array(let i), .set(let i): for x in i { collectVars(x, &out) }
        case .object(let e):
            for x in e {
                collectVars(x.key, &out)
                collectVars(x.value, &out)
            }
        case .arrayComprehension(let h, let b), .setComprehension(let h, let b):
            collectVars(h, &out)
            for x in b.exprs { collectVars(x, &out) }
        case .objectComprehension(let k, let v, let b):
            collectVars(k, &out)
            collectVars(v, &out)
            for x in b.exprs { collectVars(x, &out) }
        case .call(_, let args, _): for x in args { collectVars(x, &out) }
        }
    }

    /// Vars in pattern position that are not generated by refs (must be bound or bound by the other side).
    func bareVars(_ t: Term) -> VarSet {
        switch t {
        case .variable(let v): return Compiler.isRoot(v) ? [] : [v]
        case .array(let items): return items.reduce(into: VarSet()) { $0.formUnion(bareVars($1)) }
        case .object(let entries): return entries.reduce(into: VarSet()) { $0.formUnion(bareVars($1.value)) }
        default: return []
        }
    }

    /// The extra condition of a unification: one side's bare variables must be bound.
    struct EitherSideBound {
        let left: VarSet
        let right: VarSet
        func holds(_ bound: VarSet) -> Bool { left.isSubset(of: bound) || right.isSubset(of: bound) }
    }

    func exprUsage(_ e: Expr) -> (Usage, extra: EitherSideBound?) {
        var u = Usage()
        var extra: EitherSideBound? = nil
        switch e.kind {
        case .term(let t): usage(of: t, pattern: false, into: &u, outputArity: true)
        case .unify(let a, let b), .assign(let a, let b):
            usage(of: a, pattern: true, into: &u)
            usage(of: b, pattern: true, into: &u)
            let la = bareVars(a), lb = bareVars(b)
            let bothComposite: Bool = {
                switch (a, b) {
                case (.array, .array), (.object, .object): return true
                default: return false
                }
            }()
            if !bothComposite {
                extra = EitherSideBound(left: la, right: lb)
            }
        case .some: break
        case .someIn(let k, let v, let d):
            usage(of: d, pattern: false, into: &u)
            if let k { usage(of: k, pattern: true, into: &u) }
            usage(of: v, pattern: true, into: &u)
        case .every(let k, let v, let d, let b):
            usage(of: d, pattern: false, into: &u)
            var inner = freeVars(.array([k ?? .value(.null), v]), b)
            if let k { inner.subtract(patternVars(k)) }
            inner.subtract(patternVars(v))
            u.needs.formUnion(inner)
        }
        if e.negated {
            // Everything a negation mentions must be bound before it: it binds nothing, so a
            // variable only it mentions is unsafe (OPA's `var i is unsafe` for `not xs[i] == 1`).
            u.needs.formUnion(u.binds)
            u.binds = []
            extra = nil
        }
        for w in e.withs where !isBuiltinName(w.value) { usage(of: w.value, pattern: false, into: &u) }
        return (u, extra)
    }

    /// Variables a statement mentions outside nested closures (comprehension and `every` bodies).
    func topVars(_ e: Expr) -> VarSet {
        var out = VarSet()
        func term(_ t: Term) {
            switch t {
            case .value: break
            case .variable(let v): if !Compiler.isRoot(v) { out.insert(v) }
            case .ref(let h, let p):
                term(h)
                p.forEach(term)
            case .array(let i), .set(let i): i.forEach(term)
            case .object(let e):
                for x in e {
                    term(x.key)
                    term(x.value)
                }
            case .arrayComprehension, .setComprehension, .objectComprehension: break
            case .call(_, let args, _): args.forEach(term)
            }
        }
        switch e.kind {
        case .term(let t): term(t)
        case .unify(let a, let b), .assign(let a, let b):
            term(a)
            term(b)
        case .some: break  // a declaration binds nothing
        case .someIn(let k, let v, let d):
            if let k { term(k) }
            term(v)
            term(d)
        case .every(_, _, let d, _): term(d)
        }
        for w in e.withs { term(w.value) }
        return out
    }

    /// True for a `with` value that names a builtin (`count`, `object.union_n`).
    func isBuiltinName(_ t: Term) -> Bool {
        switch t {
        case .variable(let v): return Builtins.table[v] != nil
        case .ref(.variable(let v), let path):
            var name = v
            for p in path {
                guard case .value(.string(let s)) = p else { return false }
                name += "." + s
            }
            return Builtins.table[name] != nil
        default: return false
        }
    }

    /// Reorders `body` so each statement's inputs are bound before it runs; recurses into nested bodies.
    /// `mayNest` false: the body holds no nested body to order (the parser's `Rule.hasNestedBodies`).
    func reorder(_ body: Body, bound initial: VarSet, mayNest: Bool = true) throws -> Body {
        // Each statement's variables and usage are computed once (they do not change while the body is ordered).
        let tops = body.exprs.map(topVars)
        var scopeVars = initial
        for t in tops { scopeVars.formUnion(t) }
        var bound = initial
        let usages = body.exprs.map(exprUsage)
        let needs = usages.map { $0.0.needs.intersection(scopeVars) }
        // Indices of the statements not placed yet, in their written order: each round places
        // the first one whose inputs are bound (so a body already in a safe order stays as is).
        var remaining = Array(body.exprs.indices)
        var ordered: [Expr] = []
        ordered.reserveCapacity(remaining.count)
        while !remaining.isEmpty {
            var picked: Int? = nil
            for (k, i) in remaining.enumerated() {
                if needs[i].isSubset(of: bound), usages[i].extra?.holds(bound) ?? true {
                    picked = k
                    break
                }
            }
            guard let k = picked else {
                let e = body.exprs[remaining[0]]
                let u = usages[remaining[0]].0
                var missing = u.needs.intersection(scopeVars).subtracting(bound)
                if missing.isEmpty { missing = u.binds.subtracting(bound) }
                // Name a variable of the policy rather than one the parser generated.
                let generated = { (v: String) in
                    v.hasPrefix("__template_value") || (v.hasPrefix("$") && !v.hasPrefix("$_"))
                }
                let unsafe = missing.sorted { (generated($0) ? 1 : 0, $0) < (generated($1) ? 1 : 0, $1) }.first ?? "?"
                var shown = unsafe.split(separator: "$").first.map(String.init) ?? unsafe
                if unsafe.hasPrefix("$_") { shown = "_" }
                throw RegoError(
                    code: "rego_unsafe_var_error", message: "var \(shown) is unsafe", file: e.location.file,
                    line: e.location.line, column: e.location.column)
            }
            let i = remaining.remove(at: k)
            let e = mayNest ? try reorderNested(body.exprs[i], bound: bound) : body.exprs[i]
            if !e.negated { bound.formUnion(tops[i]) }
            ordered.append(e)
        }
        return Body(exprs: ordered)
    }

    /// True when a term holds a nested body (a comprehension), which `reorderTerm` must order.
    func hasNestedBody(_ t: Term) -> Bool {
        switch t {
        case .value, .variable: return false
        case .ref(let h, let p): return hasNestedBody(h) || p.contains(where: hasNestedBody)
        case .array(let i), .set(let i): return i.contains(where: hasNestedBody)
        case .object(let e): return e.contains { hasNestedBody($0.key) || hasNestedBody($0.value) }
        case .arrayComprehension, .setComprehension, .objectComprehension: return true
        case .call(_, let a, _): return a.contains(where: hasNestedBody)
        }
    }

    func reorderNested(_ e: Expr, bound: VarSet) throws -> Expr {
        // Most statements hold no nested body: nothing to order, nothing to rebuild.
        switch e.kind {
        case .term(let t) where !hasNestedBody(t) && !e.withs.contains(where: { hasNestedBody($0.value) }): return e
        case .unify(let a, let b)
        where !hasNestedBody(a) && !hasNestedBody(b) && !e.withs.contains(where: { hasNestedBody($0.value) }): return e
        case .assign(let a, let b)
        where !hasNestedBody(a) && !hasNestedBody(b) && !e.withs.contains(where: { hasNestedBody($0.value) }): return e
        default: break
        }
        var out = e
        switch e.kind {
        case .term(let t): out.kind = .term(try reorderTerm(t, bound))
        case .unify(let a, let b): out.kind = .unify(try reorderTerm(a, bound), try reorderTerm(b, bound))
        case .assign(let a, let b): out.kind = .assign(try reorderTerm(a, bound), try reorderTerm(b, bound))
        case .some: break
        case .someIn(let k, let v, let d):
            out.kind = .someIn(key: k, value: v, domain: try reorderTerm(d, bound))
        case .every(let k, let v, let d, let b):
            var inner = bound
            if let k { inner.formUnion(patternVars(k)) }
            inner.formUnion(patternVars(v))
            out.kind = .every(key: k, value: v, domain: try reorderTerm(d, bound), body: try reorder(b, bound: inner))
        }
        out.withs = try e.withs.map { With(target: $0.target, value: try reorderTerm($0.value, bound)) }
        return out
    }

    /// The variables bound once an ordered body has run from `bound`.
    func boundAfter(_ body: Body, _ bound: VarSet) -> VarSet {
        var out = bound
        for e in body.exprs where !e.negated { out.formUnion(topVars(e)) }
        return out
    }

    func reorderTerm(_ t: Term, _ bound: VarSet) throws -> Term {
        switch t {
        case .value, .variable: return t
        case .ref(let h, let p): return .ref(try reorderTerm(h, bound), try p.map { try reorderTerm($0, bound) })
        case .array(let i): return .array(try i.map { try reorderTerm($0, bound) })
        case .set(let i): return .set(try i.map { try reorderTerm($0, bound) })
        case .object(let e):
            return .object(
                try e.map { .init(key: try reorderTerm($0.key, bound), value: try reorderTerm($0.value, bound)) })
        // A comprehension's head sees what its body binds (a template string in an object
        // comprehension's key holds comprehensions over the body's variables).
        case .arrayComprehension(let h, let b):
            let body = try reorder(b, bound: bound)
            return .arrayComprehension(try reorderTerm(h, boundAfter(body, bound)), body)
        case .setComprehension(let h, let b):
            let body = try reorder(b, bound: bound)
            return .setComprehension(try reorderTerm(h, boundAfter(body, bound)), body)
        case .objectComprehension(let k, let v, let b):
            let body = try reorder(b, bound: bound)
            let inner = boundAfter(body, bound)
            return .objectComprehension(try reorderTerm(k, inner), try reorderTerm(v, inner), body)
        case .call(let n, let a, let l): return .call(n, try a.map { try reorderTerm($0, bound) }, l)
        }
    }
}
