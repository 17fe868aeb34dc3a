/// A Rego term: a value, a variable, a reference, a composite or a call.
indirect enum Term: Sendable, Hashable {
    case value(RegoValue)
    case variable(String)
    /// `head[path0][path1]…`; dotted names appear as string values in `path`.
    case ref(Term, [Term])
    case array([Term])
    case object([ObjectEntry])
    case set([Term])
    case arrayComprehension(Term, Body)
    case setComprehension(Term, Body)
    case objectComprehension(Term, Term, Body)
    /// A call of a builtin or function named by a dotted path (`count`, `data.pkg.f`).
    case call([String], [Term], SourceLocation)

    struct ObjectEntry: Sendable, Hashable {
        var key: Term
        var value: Term
    }

    var isWildcard: Bool {
        if case .variable(let name) = self { return name.hasPrefix("$_") }
        return false
    }

    /// The dotted name a variable or a reference of string keys spells (`f`, `data.pkg.f` → `["data", "pkg", "f"]`):
    /// what a call or a `with` target can name; nil for any other term.
    var dottedName: [String]? {
        switch self {
        case .variable(let v): return [v]
        case .ref(.variable(let v), let path):
            var out = [v]
            for p in path {
                guard case .value(.string(let s)) = p else { return nil }
                out.append(s)
            }
            return out
        default: return nil
        }
    }
}

/// A body: statements evaluated in order (after the compiler reorders them for safety).
struct Body: Sendable, Hashable {
    var exprs: [Expr]
}

/// One statement of a body.
struct Expr: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// A term that must be defined and not `false` (a call may carry an extra output argument).
        case term(Term)
        /// `a = b`
        case unify(Term, Term)
        /// `a := b`
        case assign(Term, Term)
        /// `some x, y` (declaration only)
        case some([String])
        /// `some k, v in domain` (`key` nil for `some v in domain`)
        case someIn(key: Term?, value: Term, domain: Term)
        /// `every k, v in domain { body }`
        case every(key: Term?, value: Term, domain: Term, body: Body)
    }
    var kind: Kind
    var negated: Bool = false
    var withs: [With] = []
    var location: SourceLocation
    /// True for a statement the compiler wrote (a term moved out of a negation, see
    /// `Compiler.moveDynamicTerms`): a query does not report it as one of its expressions.
    var generated: Bool = false
}

/// `with target as value`
struct With: Sendable, Hashable {
    var target: Term
    var value: Term
}

/// A rule of a module: complete, partial set/object, function, default, with else chain.
struct Rule: Sendable {
    enum Kind: Sendable {
        /// `p := v` / `p.q[x] := v` / `f(x) := v`: one value at the head's path.
        case singleValue
        /// `p contains x`: a set at the head's path.
        case multiValue
    }
    var kind: Kind
    /// Package path then head ref; names as `.value(.string)`, dynamic keys as terms.
    var ref: [Term]
    /// Function parameters; nil for non-function rules.
    var args: [Term]?
    /// The value (single-value) or element (multi-value).
    var value: Term
    var body: Body
    var isDefault: Bool
    var elseClauses: [ElseClause]
    var location: SourceLocation
    /// The module file name.
    var file: String
    /// False when the rule holds no nested body (comprehension, `every`, template string)
    /// anywhere, set by the parser: the compiler then skips looking for them. True when unknown.
    var hasNestedBodies = true

    /// Leading ground names of `ref` (the document path the rule hangs under).
    var groundPrefix: [String] {
        var out: [String] = []
        for t in ref {
            if case .value(.string(let s)) = t { out.append(s) } else { break }
        }
        return out
    }
    var isGround: Bool { groundPrefix.count == ref.count }
    var isFunction: Bool { args != nil }
}

struct ElseClause: Sendable {
    var value: Term
    var body: Body
    var location: SourceLocation
}

struct Import: Sendable {
    /// `data.x.y` or `input.x` as path names.
    var path: [String]
    var alias: String
}

/// A parsed module.
struct Module: Sendable {
    var file: String
    var package: [String]
    var imports: [Import]
    var rules: [Rule]
}
