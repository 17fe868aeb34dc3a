/// OPA evaluates the calls and references inside a negated expression before the negation.
///
/// OPA's compiler moves every call nested in an expression's operands into a statement of its
/// own before it (`RewriteExprTerms`: `not lower(upper(x)) == "a"` becomes
/// `__l0 = upper(x); __l1 = lower(__l0); not __l1 == "a"`), and then every reference, and every
/// reference inside an array, object or set, in a call's operands (`RewriteDynamicTerms`:
/// `not endswith("x", input.nope)` becomes `__l2 = input.nope; not endswith("x", __l2)`). A
/// unification's sides (`a = b`, and `a == b` in a module, which `RewriteEquals` makes a
/// unification; a query keeps `==` a call) and a term standing alone keep their top-level
/// reference, but the references in its keys are moved (`not input.x[input.y]`). A moved term
/// that is undefined therefore fails the body instead of making the negation hold. Each moved
/// statement carries the expression's `with` modifiers.
///
/// Outside a negation moving a term changes no answer (an undefined argument makes the call
/// undefined either way), so only negated expressions are rewritten, after the body is ordered
/// for safety (as in OPA, where the stage runs after the safety check). Comprehensions are not
/// moved: their value is always defined. Nested bodies (comprehensions, `every`, in rule values
/// too) are rewritten the same way.
extension Compiler {
    /// `body` with OPA's moved terms before each negated expression, in nested bodies too.
    /// `query`: a query's `==` stays a call (OPA's query compiler does not rewrite it).
    /// `mayNest` false: the body holds no nested body (the parser's `Rule.hasNestedBodies`).
    mutating func moveDynamicTerms(_ body: Body, query: Bool, mayNest: Bool = true) -> Body {
        // Nothing to move without a negation or a nested body (most bodies).
        if !mayNest && !body.exprs.contains(where: \.negated) { return body }
        var out: [Expr] = []
        out.reserveCapacity(body.exprs.count)
        for e in body.exprs {
            if !e.negated && !hasNestedBody(e) {
                out.append(e)
                continue
            }
            var e2 = moveDynamicTermsInNested(e, query: query)
            if e2.negated { e2 = moveOutOfNegation(e2, query: query, into: &out) }
            out.append(e2)
        }
        return Body(exprs: out)
    }

    /// True when a statement holds a nested body (a comprehension, an `every`).
    func hasNestedBody(_ e: Expr) -> Bool {
        switch e.kind {
        case .term(let t): if hasNestedBody(t) { return true }
        case .unify(let a, let b), .assign(let a, let b): if hasNestedBody(a) || hasNestedBody(b) { return true }
        case .some: break
        case .someIn(_, _, let d): if hasNestedBody(d) { return true }
        case .every: return true
        }
        return e.withs.contains { hasNestedBody($0.value) }
    }

    /// `t` with the bodies of its comprehensions rewritten (a rule's value or key, a `with` value).
    mutating func moveDynamicTerms(inTerm t: Term, query: Bool) -> Term {
        guard hasNestedBody(t) else { return t }
        switch t {
        case .value, .variable: return t
        case .ref(let h, let p):
            return .ref(moveDynamicTerms(inTerm: h, query: query), p.map { moveDynamicTerms(inTerm: $0, query: query) })
        case .array(let i): return .array(i.map { moveDynamicTerms(inTerm: $0, query: query) })
        case .set(let i): return .set(i.map { moveDynamicTerms(inTerm: $0, query: query) })
        case .object(let e):
            return .object(
                e.map {
                    .init(
                        key: moveDynamicTerms(inTerm: $0.key, query: query),
                        value: moveDynamicTerms(inTerm: $0.value, query: query))
                })
        case .arrayComprehension(let h, let b):
            return .arrayComprehension(moveDynamicTerms(inTerm: h, query: query), moveDynamicTerms(b, query: query))
        case .setComprehension(let h, let b):
            return .setComprehension(moveDynamicTerms(inTerm: h, query: query), moveDynamicTerms(b, query: query))
        case .objectComprehension(let k, let v, let b):
            return .objectComprehension(
                moveDynamicTerms(inTerm: k, query: query), moveDynamicTerms(inTerm: v, query: query),
                moveDynamicTerms(b, query: query))
        case .call(let n, let a, let l): return .call(n, a.map { moveDynamicTerms(inTerm: $0, query: query) }, l)
        }
    }

    private mutating func moveDynamicTermsInNested(_ e: Expr, query: Bool) -> Expr {
        var out = e
        switch e.kind {
        case .term(let t): out.kind = .term(moveDynamicTerms(inTerm: t, query: query))
        case .unify(let a, let b):
            out.kind = .unify(moveDynamicTerms(inTerm: a, query: query), moveDynamicTerms(inTerm: b, query: query))
        case .assign(let a, let b):
            out.kind = .assign(moveDynamicTerms(inTerm: a, query: query), moveDynamicTerms(inTerm: b, query: query))
        case .some: break
        case .someIn(let k, let v, let d):
            out.kind = .someIn(key: k, value: v, domain: moveDynamicTerms(inTerm: d, query: query))
        case .every(let k, let v, let d, let b):
            out.kind = .every(
                key: k, value: v, domain: moveDynamicTerms(inTerm: d, query: query),
                body: moveDynamicTerms(b, query: query))
        }
        if !e.withs.isEmpty {
            out.withs = e.withs.map { With(target: $0.target, value: moveDynamicTerms(inTerm: $0.value, query: query)) }
        }
        return out
    }

    /// The negated `e` with its calls and dynamic terms replaced by fresh variables, whose
    /// binding statements are appended to `out` (calls first, then references, as OPA orders them).
    private mutating func moveOutOfNegation(_ e: Expr, query: Bool, into out: inout [Expr]) -> Expr {
        var e = e
        switch e.kind {
        case .term(.call(let name, let args, let loc)):
            var moved = args.map { moveCalls($0, e, into: &out) }
            if !query && name == ["equal"] && moved.count == 2 {
                moved = moved.map { moveRefKeys($0, e, into: &out) }
            } else {
                moved = moved.map { moveDynamic($0, e, into: &out) }
            }
            e.kind = .term(.call(name, moved, loc))
        case .term(let t):
            e.kind = .term(moveRefKeys(moveCalls(t, e, into: &out), e, into: &out))
        case .unify(let a, let b):
            let a2 = moveCalls(a, e, into: &out), b2 = moveCalls(b, e, into: &out)
            e.kind = .unify(moveRefKeys(a2, e, into: &out), moveRefKeys(b2, e, into: &out))
        case .assign, .some, .someIn, .every:
            break  // not negatable
        }
        return e
    }

    /// A fresh variable bound to `t` by a generated statement carrying `e`'s modifiers.
    private mutating func bind(_ t: Term, _ e: Expr, into out: inout [Expr]) -> Term {
        freshCounter += 1
        let v = Term.variable("$m\(freshCounter)")
        var stmt = Expr(kind: .unify(v, t), withs: e.withs, location: e.location)
        stmt.generated = true
        out.append(stmt)
        return v
    }

    /// OPA's `expandExprTerm`: every call in `t` (innermost first) moved out; a reference whose
    /// subject is a composite moves the subject out too.
    private mutating func moveCalls(_ t: Term, _ e: Expr, into out: inout [Expr]) -> Term {
        switch t {
        case .value, .variable, .arrayComprehension, .setComprehension, .objectComprehension:
            return t
        case .call(let name, let args, let loc):
            let a = args.map { moveCalls($0, e, into: &out) }
            return bind(.call(name, a, loc), e, into: &out)
        case .ref(let head, let path):
            var h = moveCalls(head, e, into: &out)
            let p = path.map { moveCalls($0, e, into: &out) }
            switch h {
            case .array, .object, .set, .arrayComprehension, .setComprehension, .objectComprehension:
                h = bind(h, e, into: &out)
            default: break
            }
            return .ref(h, p)
        case .array(let items): return .array(items.map { moveCalls($0, e, into: &out) })
        case .set(let items): return .set(items.map { moveCalls($0, e, into: &out) })
        case .object(let entries):
            return .object(
                entries.map { .init(key: moveCalls($0.key, e, into: &out), value: moveCalls($0.value, e, into: &out)) })
        }
    }

    /// OPA's `rewriteDynamicsOne`: a reference (after its keys) moved out; arrays, objects and
    /// sets walked.
    private mutating func moveDynamic(_ t: Term, _ e: Expr, into out: inout [Expr]) -> Term {
        switch t {
        case .ref(let head, let path):
            return bind(.ref(head, path.map { moveDynamic($0, e, into: &out) }), e, into: &out)
        case .array(let items): return .array(items.map { moveDynamic($0, e, into: &out) })
        case .set(let items): return .set(items.map { moveDynamic($0, e, into: &out) })
        case .object(let entries):
            return .object(
                entries.map {
                    .init(key: moveDynamic($0.key, e, into: &out), value: moveDynamic($0.value, e, into: &out))
                })
        default: return t
        }
    }

    /// OPA's `rewriteDynamicsInTerm`: a reference stays but the references in its keys move;
    /// a comprehension stays; anything else as `moveDynamic`.
    private mutating func moveRefKeys(_ t: Term, _ e: Expr, into out: inout [Expr]) -> Term {
        switch t {
        case .ref(let head, let path): return .ref(head, path.map { moveDynamic($0, e, into: &out) })
        case .arrayComprehension, .setComprehension, .objectComprehension: return t
        default: return moveDynamic(t, e, into: &out)
        }
    }
}
