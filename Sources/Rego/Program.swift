/// A node of the document tree: `data.a.b` is `root.children["a"].children["b"]`.
final class RuleNode {
    /// The names from `data` to this node.
    let path: [String]
    var children: [String: RuleNode] = [:]
    /// `children` sorted by name (OPA's order), set by `computeFlags`.
    var sortedChildren: [(name: String, node: RuleNode)] = []
    var rules: [CompiledRule] = []
    var isPackage = false
    /// True when this node holds non-function rules.
    var hasRules = false
    /// True when this node or a descendant holds non-function rules.
    var hasRulesBelow = false
    /// The node's position in its program (`Program.nodeCount` in all): the slot of its
    /// document in an evaluation's cache, so a cached document is read by index, not hashed.
    var index = 0
    /// The base data at `path` (nil when none), read once after compilation.
    var baseData: RegoValue? = nil

    init(path: [String] = []) { self.path = path }

    /// The child named `name`: a linear scan of the sorted children when there are few (string
    /// comparisons are cheaper than hashing the name), else the dictionary.
    @inline(__always)
    func child(named name: String) -> RuleNode? {
        if sortedChildren.count <= 8 {
            for c in sortedChildren where c.name == name { return c.node }
            return nil
        }
        return children[name]
    }

    func child(_ name: String) -> RuleNode {
        if let c = children[name] { return c }
        let c = RuleNode(path: path + [name])
        children[name] = c
        return c
    }

    @discardableResult
    func computeFlags() -> Bool {
        hasRules = rules.contains { !$0.rule.isFunction }
        sortedChildren = children.sorted { $0.key < $1.key }.map { (name: $0.key, node: $0.value) }
        // Packages, and nodes holding functions, exist in the data document (as objects).
        var below = hasRules || isPackage
        for c in children.values where c.rules.contains(where: { $0.rule.isFunction }) { below = true }
        for c in children.values where c.computeFlags() { below = true }
        hasRulesBelow = below
        return below
    }
}

/// A rule after name resolution and safety reordering; `rule.ref` starts with the package path.
///
/// A class: the evaluator walks a node's rules for every document it computes, and copying a
/// reference is one retain where copying the rule's fields was one per field.
final class CompiledRule {
    let rule: Rule
    /// `rule.isGround`, computed once.
    let isGround: Bool
    /// The head's ref below the node the rule hangs under (its dynamic keys), computed once.
    let relativeRef: [Term]

    init(rule: Rule) {
        self.rule = rule
        let prefix = rule.groundPrefix.count
        isGround = prefix == rule.ref.count
        relativeRef = Array(rule.ref.dropFirst(prefix))
    }
}

/// Compiled modules plus base data: immutable once built, shared by evaluations.
final class Program {
    let root = RuleNode()
    let data: RegoValue
    var compiler = Compiler()

    /// Arity of every builtin, built once (not per compilation).
    static let builtinArity: [String: Int] = Builtins.table.mapValues(\.arity)

    init(modules: [Module], data: RegoValue) throws {
        self.data = data
        compiler.functionArity = Program.builtinArity
        for m in modules {
            for r in m.rules {
                guard case .value(.string(let first)) = r.ref[0] else { continue }
                compiler.ruleNames[m.package, default: []].insert(first)
                if let args = r.args {
                    let full = ["data"] + m.package + r.groundPrefix
                    compiler.functionArity[full.joined(separator: ".")] = args.count
                }
            }
        }
        for m in modules {
            var node = root
            for p in m.package { node = node.child(p) }
            node.isPackage = true
            var imports: [String: [String]] = [:]
            for imp in m.imports { imports[imp.alias] = imp.path }
            let scope = Compiler.Scope(
                package: m.package, imports: imports, packageRules: compiler.ruleNames[m.package] ?? [])
            for r in m.rules {
                let compiled = try compile(r, m, scope)
                var n = root
                let prefix = compiled.rule.groundPrefix
                for p in prefix { n = n.child(p) }
                if !compiled.rule.isFunction {
                    try checkConflicts(n, compiled)
                }
                n.rules.append(compiled)
            }
        }
        root.computeFlags()
        indexNodes(root, data)
        collectFunctions(root, ["data"])
        try TypeChecker(program: self).check()
    }

    /// The number of nodes of the rule tree (see `RuleNode.index`).
    private(set) var nodeCount = 0

    /// Numbers the nodes and reads each one's base data once.
    func indexNodes(_ node: RuleNode, _ base: RegoValue?) {
        node.index = nodeCount
        nodeCount += 1
        node.baseData = base
        for (name, child) in node.sortedChildren {
            var b: RegoValue? = nil
            if case .object(let o)? = base { b = o[.string(name)] }
            indexNodes(child, b)
        }
    }

    func checkConflicts(_ node: RuleNode, _ rule: CompiledRule) throws {
        for other in node.rules {
            if other.rule.isFunction {
                throw RegoError(
                    code: "rego_type_error",
                    message: "conflicting rules data.\(rule.rule.groundPrefix.joined(separator: ".")) found",
                    file: rule.rule.file, line: rule.rule.location.line, column: rule.rule.location.column)
            }
            if other.rule.isDefault && rule.rule.isDefault {
                throw RegoError(
                    code: "rego_type_error",
                    message: "multiple default rules data.\(rule.rule.groundPrefix.joined(separator: ".")) found",
                    file: rule.rule.file, line: rule.rule.location.line, column: rule.rule.location.column)
            }
        }
    }

    func compile(_ r: Rule, _ m: Module, _ scope: Compiler.Scope) throws -> CompiledRule {
        let r = liftCallsFromArgs(r)
        // A rule without comprehensions, `every` or template strings (most rules) skips every
        // search for nested bodies below.
        let nests = r.hasNestedBodies
        var rule = r
        rule.ref = m.package.map { .value(.string($0)) } + r.ref
        var argVars: [String] = []
        if let args = r.args { for a in args { argVars += compiler.patternVarsDeep(a) } }
        let bound = VarSet(argVars)
        let declared = VarSet(compiler.declaredNames(r.body) + argVars)
        var headVars = VarSet()
        compiler.collectVars(r.value, &headVars)
        for t in r.ref { compiler.collectVars(t, &headVars) }
        let (body, _) = try compiler.resolveBody(
            r.body, scope, nested: false, extraDeclared: argVars, arguments: true, headVars: headVars, mayNest: nests)
        rule.body = compiler.moveDynamicTerms(
            try compiler.reorder(body, bound: bound, mayNest: nests), query: false, mayNest: nests)
        // The head's names that are the body's locals. Being a local only changes how a name
        // resolves when it also names an import or a rule of the package: such a name is a
        // local when the body declares it, or (an import alias only) when the body mentions it.
        var headLocals = declared
        if headVars.contains(where: {
            scope.imports[$0] != nil && !scope.packageRules.contains($0) && !declared.contains($0)
        }) {
            var mentioned = VarSet()
            for e in r.body.exprs { compiler.collectVars(e, &mentioned) }
            for v in headVars where scope.imports[v] != nil && !scope.packageRules.contains(v) && mentioned.contains(v)
            { headLocals.insert(v) }
        }
        // The head's comprehensions are ordered too, seeing what the body binds.
        let headHasBodies = nests && (compiler.hasNestedBody(r.value) || r.ref.contains(where: compiler.hasNestedBody))
        let headBound = headHasBodies ? compiler.boundAfter(rule.body, bound) : []
        rule.value = try compiler.resolveTerm(r.value, scope, headLocals)
        if headHasBodies {
            rule.value = compiler.moveDynamicTerms(
                inTerm: try compiler.reorderTerm(rule.value, headBound), query: false)
        }
        if let args = r.args {
            rule.args = try args.map { try compiler.resolveTerm($0, scope, bound) }
        }
        rule.ref = try rule.ref.map { t in
            let resolved = try compiler.resolveTerm(t, scope, headLocals)
            return headHasBodies
                ? compiler.moveDynamicTerms(inTerm: try compiler.reorderTerm(resolved, headBound), query: false)
                : resolved
        }
        rule.elseClauses = try r.elseClauses.map { c in
            var c = c
            let d = VarSet(compiler.declaredNames(c.body) + argVars)
            var elseHead = VarSet()
            compiler.collectVars(c.value, &elseHead)
            let (b, _) = try compiler.resolveBody(
                c.body, scope, nested: false, extraDeclared: argVars, arguments: true, headVars: elseHead,
                mayNest: nests)
            c.body = compiler.moveDynamicTerms(
                try compiler.reorder(b, bound: bound, mayNest: nests), query: false, mayNest: nests)
            // As for the head above: only a value's name that is also an import or a rule of the
            // package resolves differently as a local (here any variable left in the compiled body).
            var locals = d
            if elseHead.contains(where: { scope.imports[$0] != nil || scope.packageRules.contains($0) }) {
                for e in c.body.exprs { compiler.collectVars(e, &locals) }
            }
            c.value = try compiler.resolveTerm(c.value, scope, locals)
            if nests && compiler.hasNestedBody(c.value) {
                c.value = compiler.moveDynamicTerms(
                    inTerm: try compiler.reorderTerm(c.value, compiler.boundAfter(c.body, bound)), query: false)
            }
            return c
        }
        return CompiledRule(rule: rule)
    }

    /// A function whose parameter pattern holds a call (a template string, `f($"{x} {input.y}")`)
    /// takes a fresh variable there and unifies it with the call at the end of its body (and of
    /// each `else` body), as OPA's `rewriteExprTermsInHead` does: the argument must equal the
    /// call's value, computed from the body's bindings.
    func liftCallsFromArgs(_ r: Rule) -> Rule {
        guard let args = r.args, args.contains(where: { Self.containsCall($0) }) else { return r }
        var lifted: [Expr] = []
        var counter = 0
        func lift(_ t: Term) -> Term {
            switch t {
            case .call:
                counter += 1
                let v = Term.variable("$arg\(counter)")
                lifted.append(Expr(kind: .unify(v, t), location: r.location))
                return v
            case .array(let items): return .array(items.map(lift))
            case .object(let entries): return .object(entries.map { .init(key: $0.key, value: lift($0.value)) })
            default: return t
            }
        }
        var out = r
        out.args = args.map(lift)
        out.body.exprs += lifted
        for i in out.elseClauses.indices { out.elseClauses[i].body.exprs += lifted }
        return out
    }

    static func containsCall(_ t: Term) -> Bool {
        switch t {
        case .call: return true
        case .array(let items): return items.contains(where: containsCall)
        case .object(let entries): return entries.contains { containsCall($0.value) }
        default: return false
        }
    }

    /// Function rules by full path (`["data","pkg","f"]`), collected once after compilation.
    private(set) var functions: [[String]: [CompiledRule]] = [:]

    /// Function rules at a full path (`["data","pkg","f"]`), nil when none.
    func functionRules(_ path: [String]) -> [CompiledRule]? {
        guard path.first == "data" else { return nil }
        return functions[path]
    }

    /// Fills `functions` from the rule tree.
    func collectFunctions(_ node: RuleNode, _ path: [String]) {
        let fns = node.rules.filter { $0.rule.isFunction }
        if !fns.isEmpty { functions[path] = fns }
        for (name, child) in node.children { collectFunctions(child, path + [name]) }
    }

    /// Compiles a query (no package: names are locals, `data` and `input` are roots).
    func compileQuery(_ source: String) throws -> Body {
        var parser = try Parser(file: "query", source: source)
        let body = try parser.parseQuery()
        var c = compiler
        let scope = Compiler.Scope(
            package: ["\u{0}query"], imports: [:], packageRules: compiler.ruleNames[["\u{0}query"]] ?? [])
        let (resolved, _) = try c.resolveBody(body, scope, nested: false)
        let ordered = c.moveDynamicTerms(try c.reorder(resolved, bound: []), query: true)
        try TypeChecker(program: self).check(query: ordered)
        return ordered
    }
}

extension Compiler {
    /// All variables in a (parameter) pattern, including inside arrays and objects.
    func patternVarsDeep(_ t: Term) -> [String] {
        var s = VarSet()
        collectVars(t, &s)
        return Array(s)
    }
}
