/// A recursive-descent parser for Rego v1 modules and queries.
///
/// Produces the AST with source locations; reports the first syntax error as a
/// `rego_parse_error` with file, line and column. Nesting is bounded so a
/// hostile module cannot overflow the stack.
struct Parser {
    let file: String
    var tokens: [Token]
    var pos = 0
    var depth = 0
    var wildcardCounter = 0
    /// True while parsing the head of a comprehension, where `|` ends the term.
    var stopAtBar = false
    /// The number of nested bodies (comprehensions, `every`, template strings) parsed so far:
    /// a rule that holds none is marked so (`Rule.hasNestedBodies`) and the compiler skips
    /// looking for them.
    var nestedBodies = 0
    /// True when the last `parseExpr` applied a binary operator at its own level (`x * 2`, not
    /// `(x * 2)` or `f(x)`): see `parseCollectionHead`.
    var lastExprInfix = false
    static let maxDepth = 1000
    /// The thread's stack, checked at every nesting level: a small thread stack makes deep
    /// nesting a parse error, never a crash.
    let stack = StackGuard()

    init(file: String, source: String) throws {
        self.file = file
        var lexer = Lexer(file: file, source: source)
        self.tokens = try lexer.tokenize()
    }

    // MARK: token helpers

    var current: Token { tokens[pos] }
    var location: SourceLocation { SourceLocation(file: file, line: current.line, column: current.column) }

    func error(_ message: String, at token: Token? = nil) -> RegoError {
        let t = token ?? current
        return RegoError(code: "rego_parse_error", message: message, file: file, line: t.line, column: t.column)
    }

    func describe(_ t: Token) -> String {
        switch t.kind {
        case .ident(let s): return "'\(s)'"
        case .string(let s): return "string \"\(s)\""
        case .number(let s): return "number \(s)"
        case .punct(let s): return "'\(s)'"
        case .template: return "template string"
        case .newline: return "end of line"
        case .eof: return "end of file"
        }
    }

    /// A punctuation's bytes as `Token.punct` holds them (first byte, second byte shifted by 8).
    @inline(__always)
    static func code(_ p: StaticString) -> UInt16 {
        let b = p.utf8Start
        return p.utf8CodeUnitCount == 1 ? UInt16(b[0]) : UInt16(b[0]) | UInt16(b[1]) << 8
    }

    @inline(__always)
    func isPunct(_ p: StaticString) -> Bool { current.punct == Parser.code(p) }
    /// A name of at most 8 bytes packed as `Token.word` holds it (first byte lowest).
    @inline(__always)
    static func word(_ name: StaticString) -> UInt64 {
        let b = name.utf8Start
        var w: UInt64 = 0
        for i in stride(from: name.utf8CodeUnitCount - 1, through: 0, by: -1) { w = w << 8 | UInt64(b[i]) }
        return w
    }

    /// True when the current token is the keyword `name` (at most 8 bytes) acting as one.
    @inline(__always)
    func isIdent(_ name: StaticString) -> Bool {
        // `keywordAsName` is only ever set on a keyword.
        current.word == Parser.word(name) && !current.keywordAsName
    }
    var isNewline: Bool {
        if case .newline = current.kind { return true }
        return false
    }
    var isEOF: Bool {
        if case .eof = current.kind { return true }
        return false
    }

    mutating func skipNewlines() { while isNewline { pos += 1 } }

    mutating func expectPunct(_ p: StaticString, _ context: String) throws {
        guard isPunct(p) else { throw error("expected '\(p)' \(context), found \(describe(current))") }
        pos += 1
    }

    mutating func enter() throws {
        depth += 1
        if depth > Parser.maxDepth || stack.exhausted() {
            throw error(
                """
                nesting too deep (more than \(stack.exhausted() ? depth : Parser.maxDepth) levels): simplify the \
                expression
                """
            )
        }
    }
    mutating func leave() { depth -= 1 }

    static let keywords: Set<String> = [
        "package", "import", "as", "default", "else", "not", "some", "in", "every", "with", "if", "contains", "true",
        "false", "null",
    ]

    // MARK: module

    mutating func parseModule() throws -> Module {
        skipNewlines()
        guard isIdent("package") else {
            throw error("expected 'package' declaration at the start of the module, found \(describe(current))")
        }
        pos += 1
        let pkgTerm = try parseRefTerm()
        let package = try pathNames(pkgTerm, allowRoot: "data", what: "package")
        var module = Module(file: file, package: package, imports: [], rules: [])
        try endOfStatement()
        while true {
            skipNewlines()
            if isEOF { break }
            if isIdent("import") {
                pos += 1
                let loc = location
                let t = try parseRefTerm()
                let names = try pathNames(t, allowRoot: nil, what: "import")
                guard let root = names.first, root == "data" || root == "input" || root == "future" || root == "rego"
                else {
                    throw RegoError(
                        code: "rego_parse_error", message: "invalid import path: must begin with input or data",
                        file: file, line: loc.line, column: loc.column)
                }
                var alias = names.last!
                if isIdent("as") {
                    pos += 1
                    guard case .ident(let a) = current.kind else { throw error("expected alias name after 'as'") }
                    alias = a
                    pos += 1
                }
                if root == "data" || root == "input" {
                    module.imports.append(Import(path: names, alias: alias))
                }
                try endOfStatement()
                continue
            }
            module.rules.append(contentsOf: try parseRule())
            try endOfStatement()
        }
        return module
    }

    mutating func endOfStatement() throws {
        if isNewline || isEOF { return }
        if isPunct(";") {
            pos += 1
            return
        }
        throw error("unexpected \(describe(current)): expected end of statement (a new line)")
    }

    /// Converts a ref term of plain names to its names (`data.a.b` → ["a","b"] with allowRoot "data").
    func pathNames(_ t: Term, allowRoot: String?, what: String) throws -> [String] {
        var names: [String] = []
        switch t {
        case .variable(let v): names = [v]
        case .ref(.variable(let v), let path):
            names = [v]
            for p in path {
                guard case .value(.string(let s)) = p else { throw error("invalid \(what) path: only names allowed") }
                names.append(s)
            }
        default: throw error("invalid \(what) path")
        }
        if let allowRoot {
            if names.first == allowRoot { names.removeFirst() }
        }
        return names
    }

    // MARK: rules

    mutating func parseRule() throws -> [Rule] {
        let loc = location
        let nestedBefore = nestedBodies
        var isDefault = false
        if isIdent("default") {
            isDefault = true
            pos += 1
        }
        guard case .ident(let name) = current.kind, !current.isKeyword || name == "contains" || current.keywordAsName
        else {
            throw error("expected a rule name, found \(describe(current))")
        }
        pos += 1
        var ref: [Term] = [.value(.string(name))]
        // head ref: .name or [term]
        while true {
            if isPunct("."), !current.spaceBefore {
                pos += 1
                guard case .ident(let n) = current.kind else { throw error("expected a name after '.' in rule head") }
                pos += 1
                ref.append(.value(.string(n)))
            } else if isPunct("["), !current.spaceBefore {
                pos += 1
                let t = try parseExpr(level: .unify)
                try expectPunct("]", "to close the rule head reference")
                ref.append(t)
            } else {
                break
            }
        }
        var args: [Term]? = nil
        if isPunct("("), !current.spaceBefore {
            pos += 1
            var list: [Term] = []
            skipNewlines()
            while !isPunct(")") {
                list.append(try parseExpr(level: .or))
                skipNewlines()
                if isPunct(",") {
                    pos += 1
                    skipNewlines()
                } else {
                    break
                }
            }
            try expectPunct(")", "to close the function parameters")
            args = list
        }
        var kind = Rule.Kind.singleValue
        var value: Term = .value(.bool(true))
        var hasValue = false
        if isIdent("contains") {
            pos += 1
            kind = .multiValue
            value = try parseExpr(level: .member)
            hasValue = true
        } else if isPunct(":=") || isPunct("=") {
            pos += 1
            value = try parseExpr(level: .member)
            hasValue = true
        }
        if isDefault {
            guard hasValue || args == nil else { throw error("default rule must have a value", at: nil) }
            if isIdent("if") || isPunct("{") { throw error("default rules must not have a body") }
            return [
                Rule(
                    kind: .singleValue, ref: ref, args: args, value: value, body: Body(exprs: []), isDefault: true,
                    elseClauses: [], location: loc, file: file,
                    hasNestedBodies: nestedBodies != nestedBefore)
            ]
        }
        var body = Body(exprs: [])
        if isIdent("if") {
            pos += 1
            body = try parseRuleBody()
        } else if isPunct("{") {
            throw error("`if` keyword is required before rule body (Rego v1)")
        } else if !hasValue && args == nil && kind == .singleValue {
            if ref.count == 1 {
                throw error(
                    "rule '\(name)' has neither a value nor a body: write '\(name) := value' or '\(name) if { … }'",
                    at: tokens[pos - 1])
            }
        }
        var rule = Rule(
            kind: kind, ref: ref, args: args, value: value, body: body, isDefault: false, elseClauses: [],
            location: loc, file: file)
        // else chain
        while true {
            let save = pos
            skipNewlines()
            guard isIdent("else") else {
                pos = save
                break
            }
            let eloc = location
            pos += 1
            var evalue: Term = .value(.bool(true))
            if isPunct(":=") || isPunct("=") {
                pos += 1
                evalue = try parseExpr(level: .member)
            }
            var ebody = Body(exprs: [])
            if isIdent("if") {
                pos += 1
                ebody = try parseRuleBody()
            } else if isPunct("{") {
                throw error("`if` keyword is required before else body (Rego v1)")
            }
            rule.elseClauses.append(ElseClause(value: evalue, body: ebody, location: eloc))
        }
        rule.hasNestedBodies = nestedBodies != nestedBefore
        return [rule]
    }

    mutating func parseRuleBody() throws -> Body {
        if isPunct("{") {
            // A brace after `if` is a body, unless it only parses as a literal (`if {x: 1 | …}`).
            let save = pos, saveDepth = depth
            do {
                pos += 1
                let body = try parseBody(closing: "}")
                try expectPunct("}", "to close the rule body")
                return body
            } catch let bodyError {
                pos = save
                depth = saveDepth
                if let literal = try? parseLiteral(), isNewline || isEOF || isPunct(";") || isIdent("else") {
                    return Body(exprs: [literal])
                }
                throw bodyError
            }
        }
        let expr = try parseLiteral()
        return Body(exprs: [expr])
    }

    /// Statements separated by newlines or `;` until `closing` (not consumed).
    mutating func parseBody(closing: StaticString) throws -> Body {
        try enter()
        defer { leave() }
        let savedBar = stopAtBar
        stopAtBar = false
        defer { stopAtBar = savedBar }

        var exprs: [Expr] = []
        while true {
            while isNewline || isPunct(";") { pos += 1 }
            if isPunct(closing) { break }
            if isEOF { throw error("unexpected end of file: missing '\(closing)'") }
            exprs.append(try parseLiteral())
            if isNewline || isPunct(";") { continue }
            if isPunct(closing) { break }
            throw error("unexpected \(describe(current)) after expression: expected a new line, ';' or '\(closing)'")
        }
        if exprs.isEmpty { throw error("body must not be empty") }
        return Body(exprs: exprs)
    }

    // MARK: literals

    mutating func parseLiteral() throws -> Expr {
        let loc = location
        if isIdent("some") {
            pos += 1
            var terms: [Term] = [try parseExpr(level: .relation)]
            while isPunct(",") {
                pos += 1
                skipNewlines()
                terms.append(try parseExpr(level: .relation))
            }
            if isIdent("in") {
                pos += 1
                let domain = try parseExpr(level: .relation)
                guard terms.count <= 2 else { throw error("'some' takes at most two variables before 'in'") }
                let e = Expr(
                    kind: .someIn(key: terms.count == 2 ? terms[0] : nil, value: terms.last!, domain: domain),
                    location: loc)
                return try parseWiths(e)
            }
            var names: [String] = []
            for t in terms {
                guard case .variable(let n) = t else {
                    throw RegoError(
                        code: "rego_parse_error", message: "expected variable names after 'some'", file: file,
                        line: loc.line, column: loc.column)
                }
                names.append(n)
            }
            return Expr(kind: .some(names), location: loc)
        }
        if isIdent("every") {
            pos += 1
            var terms: [Term] = [try parseExpr(level: .relation)]
            if isPunct(",") {
                pos += 1
                terms.append(try parseExpr(level: .relation))
            }
            guard isIdent("in") else { throw error("expected 'in' after 'every' variables") }
            pos += 1
            let domain = try parseExpr(level: .relation)
            guard isPunct("{") else { throw error("expected '{' to start the 'every' body") }
            pos += 1
            let body = try parseBody(closing: "}")
            try expectPunct("}", "to close the 'every' body")
            for t in terms { guard case .variable = t else { throw error("'every' variables must be names", at: nil) } }
            nestedBodies += 1
            let e = Expr(
                kind: .every(key: terms.count == 2 ? terms[0] : nil, value: terms.last!, domain: domain, body: body),
                location: loc)
            return try parseWiths(e)
        }
        var negated = false
        if isIdent("not") {
            negated = true
            pos += 1
        }
        let lhs = try parseExpr(level: .member)
        var kind: Expr.Kind
        if isPunct(",") {
            // `k, v in coll` as an expression
            pos += 1
            kind = .term(try parseMember3(lhs, loc))
        } else if isPunct(":=") {
            pos += 1
            let rhs = try parseExpr(level: .member)
            kind = .assign(lhs, rhs)
        } else if isPunct("=") {
            pos += 1
            let rhs = try parseExpr(level: .member)
            kind = .unify(lhs, rhs)
        } else {
            kind = .term(lhs)
        }
        var e = Expr(kind: kind, location: loc)
        e.negated = negated
        return try parseWiths(e)
    }

    mutating func parseWiths(_ e: Expr) throws -> Expr {
        var e = e
        while true {
            // A `with` may continue the statement on the next line.
            let save = pos
            skipNewlines()
            guard isIdent("with") else {
                pos = save
                break
            }
            pos += 1
            let target = try parseExpr(level: .or)
            guard isIdent("as") else { throw error("expected 'as' in 'with' modifier") }
            pos += 1
            let value = try parseExpr(level: .or)
            e.withs.append(With(target: target, value: value))
        }
        return e
    }

    // MARK: expressions

    enum Level: Int, Comparable {
        case unify = 0, member, relation, or, and, arith, factor
        static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    static let opNames: [String: String] = [
        "==": "equal", "!=": "neq", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte",
        "|": "or", "&": "and", "+": "plus", "-": "minus", "*": "mul", "/": "div", "%": "rem",
    ]

    func operatorLevel() -> Level? {
        switch current.kind {
        case .punct:
            // By `Token.punct`: `==` is 0x3D3D, `!=` 0x3D21, `<=` 0x3D3C, `>=` 0x3D3E.
            switch current.punct {
            case 0x3D3D, 0x3D21, 0x3C, 0x3D3C, 0x3E, 0x3D3E: return .relation
            case 0x7C: return stopAtBar ? nil : .or
            case 0x26: return .and
            case 0x2B, 0x2D: return .arith
            case 0x2A, 0x2F, 0x25: return .factor
            default: return nil
            }
        case .ident where current.word == Parser.word("in"): return .member
        default: return nil
        }
    }

    /// The level of a binary operator that starts the next non-empty line, as OPA's parser
    /// reads it: the operator continues the expression across the line break (`x := 5` and a
    /// next line `- 1 == 4` are one statement, `x := 5 - 1 == 4`). `|` is left out: a
    /// comprehension's bar on a new line stays a bar. Moves `pos` past the line breaks only
    /// when such an operator follows.
    mutating func operatorLevelAcrossNewlines(atLeast level: Level) -> Level? {
        if let l = operatorLevel() { return l }
        guard isNewline else { return nil }
        var p = pos
        while p < tokens.count, case .newline = tokens[p].kind { p += 1 }
        guard p < tokens.count, tokens[p].punct != 0, tokens[p].punct != Parser.code("|") else { return nil }
        let saved = pos
        pos = p
        guard let l = operatorLevel(), l >= level else {
            pos = saved
            return nil
        }
        return l
    }

    /// Parses an infix expression whose operators bind at least as tightly as `level`
    /// (`:=`/`=` are handled by literals, never here).
    mutating func parseExpr(level: Level) throws -> Term {
        try enter()
        defer { leave() }
        var lhs = try parseUnary()
        var infix = false
        defer { lastExprInfix = infix }
        while let opLevel = operatorLevelAcrossNewlines(atLeast: max(level, .member)), opLevel >= max(level, .member) {
            let loc = location
            let op: String
            switch current.kind {
            case .punct(let p): op = p
            default: op = "in"
            }
            pos += 1
            infix = true
            skipNewlines()
            // Left-associative: the right operand binds one level tighter.
            let next = Level(rawValue: opLevel.rawValue + 1) ?? .factor
            let rhs = opLevel == .factor ? try parseUnary() : try parseExpr(level: next)
            if op == "in" {
                lhs = .call(["internal", "member_2"], [lhs, rhs], loc)
            } else {
                lhs = .call([Parser.opNames[op]!], [lhs, rhs], loc)
            }
        }
        return lhs
    }

    mutating func parseUnary() throws -> Term {
        if isPunct("-") {
            let loc = location
            pos += 1
            if case .number(let n) = current.kind, !current.spaceBefore {
                pos += 1
                guard let num = RegoNumber(literal: "-" + n) else {
                    throw error("number '\(n)' is out of range", at: tokens[pos - 1])
                }
                return try parsePostfix(.value(.number(num)))
            }
            let operand = try parseUnary()
            return .call(["minus"], [.value(.int(0)), operand], loc)
        }
        return try parsePostfix(try parsePrimary())
    }

    /// An expression that stops at `|` (the head of a comprehension or first element of a collection).
    mutating func parseExprNoBar() throws -> Term {
        let saved = stopAtBar
        stopAtBar = true
        defer { stopAtBar = saved }
        return try parseExpr(level: .member)
    }

    /// The first element of an array or set, or an object's first value: what may be a
    /// comprehension's head. OPA's parser reads a comprehension's head as a single term, so an
    /// operation written without parentheses (`[x * 2 | …]`, `{k: v + 1 | …}`) is no head: its
    /// `|` is the set union operator and the rest is read as an expression, as OPA reads it
    /// (`x := …` after it is then a parse error, as in OPA). `(x * 2)` is a head.
    mutating func parseCollectionHead() throws -> Term {
        let start = pos
        let head = try parseExprNoBar()
        let infix = lastExprInfix
        let end = pos
        skipNewlines()
        guard infix, isPunct("|") else {
            pos = end
            return head
        }
        pos = start
        return try parseExpr(level: .member)
    }

    /// After `k` and a comma: `k, v in coll` (then further `in` operators, left-associative).
    mutating func parseMember3(_ key: Term, _ loc: SourceLocation) throws -> Term {
        let v = try parseExpr(level: .relation)
        guard isIdent("in") else { throw error("expected 'in' after 'key, value'") }
        pos += 1
        let coll = try parseExpr(level: .relation)
        var t = Term.call(["internal", "member_3"], [key, v, coll], loc)
        while isIdent("in") {
            let l = location
            pos += 1
            t = .call(["internal", "member_2"], [t, try parseExpr(level: .relation)], l)
        }
        return t
    }

    mutating func parseRefTerm() throws -> Term {
        try parsePostfix(try parsePrimary())
    }

    mutating func parsePrimary() throws -> Term {
        try enter()
        defer { leave() }
        let tok = current
        let loc = location
        switch tok.kind {
        case .number(let n):
            pos += 1
            guard let num = RegoNumber(literal: n) else { throw error("number '\(n)' is out of range", at: tok) }
            return .value(.number(num))
        case .string(let s):
            pos += 1
            return .value(.string(s))
        case .template(let parts):
            pos += 1
            return try templateTerm(parts, loc)
        case .ident(let name) where tok.keywordAsName:
            pos += 1
            return .variable(name)
        case .ident(let name):
            switch name {
            case "true":
                pos += 1
                return .value(.bool(true))
            case "false":
                pos += 1
                return .value(.bool(false))
            case "null":
                pos += 1
                return .value(.null)
            case "set":
                if pos + 2 < tokens.count, tokens[pos + 1].punct == Parser.code("("),
                    tokens[pos + 2].punct == Parser.code(")")
                {
                    pos += 3
                    return .value(.set([]))
                }
            default: break
            }
            if tok.isKeyword && name != "contains" && name != "set" {
                throw error("unexpected keyword '\(name)'", at: tok)
            }
            pos += 1
            if name == "_" {
                wildcardCounter += 1
                return .variable("$_\(wildcardCounter)")
            }
            return .variable(name)
        case .punct where tok.punct == Parser.code("("):
            pos += 1
            skipNewlines()
            let saved = stopAtBar
            stopAtBar = false
            defer { stopAtBar = saved }
            var t = try parseExpr(level: .unify)
            skipNewlines()
            if isPunct(",") {
                pos += 1
                skipNewlines()
                t = try parseMember3(t, loc)
                skipNewlines()
            }
            try expectPunct(")", "to close '('")
            return t
        case .punct where tok.punct == Parser.code("["):
            pos += 1
            let savedBar = stopAtBar
            stopAtBar = false
            defer { stopAtBar = savedBar }
            skipNewlines()
            if isPunct("]") {
                pos += 1
                return .array([])
            }
            let first = try parseCollectionHead()
            skipNewlines()
            if isPunct("|") {
                pos += 1
                let body = try parseBody(closing: "]")
                try expectPunct("]", "to close the array comprehension")
                nestedBodies += 1
                return .arrayComprehension(first, body)
            }
            var items = [first]
            while isPunct(",") {
                pos += 1
                skipNewlines()
                if isPunct("]") { break }
                items.append(try parseExpr(level: .member))
                skipNewlines()
            }
            try expectPunct("]", "to close the array")
            return .array(items)
        case .punct where tok.punct == Parser.code("{"):
            pos += 1
            let savedBar = stopAtBar
            stopAtBar = false
            defer { stopAtBar = savedBar }
            skipNewlines()
            if isPunct("}") {
                pos += 1
                return .object([])
            }
            let first = try parseCollectionHead()
            skipNewlines()
            if isPunct(":") {
                pos += 1
                skipNewlines()
                let v = try parseCollectionHead()
                skipNewlines()
                if isPunct("|") {
                    pos += 1
                    let body = try parseBody(closing: "}")
                    try expectPunct("}", "to close the object comprehension")
                    nestedBodies += 1
                    return .objectComprehension(first, v, body)
                }
                var entries = [Term.ObjectEntry(key: first, value: v)]
                while isPunct(",") {
                    pos += 1
                    skipNewlines()
                    if isPunct("}") { break }
                    let k = try parseExpr(level: .member)
                    skipNewlines()
                    try expectPunct(":", "between object key and value")
                    skipNewlines()
                    let val = try parseExpr(level: .member)
                    skipNewlines()
                    entries.append(Term.ObjectEntry(key: k, value: val))
                }
                try expectPunct("}", "to close the object")
                return .object(entries)
            }
            if isPunct("|") {
                pos += 1
                let body = try parseBody(closing: "}")
                try expectPunct("}", "to close the set comprehension")
                nestedBodies += 1
                return .setComprehension(first, body)
            }
            var items = [first]
            while isPunct(",") {
                pos += 1
                skipNewlines()
                if isPunct("}") { break }
                items.append(try parseExpr(level: .member))
                skipNewlines()
            }
            try expectPunct("}", "to close the set")
            return .set(items)
        default:
            _ = loc
            throw error("unexpected \(describe(tok)): expected a term", at: tok)
        }
    }

    mutating func parsePostfix(_ base: Term) throws -> Term {
        var term = base
        while true {
            if isPunct("."), !current.spaceBefore {
                pos += 1
                guard case .ident(let n) = current.kind else { throw error("expected a name after '.'") }
                pos += 1
                term = appendRef(term, .value(.string(n)))
            } else if isPunct("["), !current.spaceBefore {
                pos += 1
                skipNewlines()
                let savedBar = stopAtBar
                stopAtBar = false
                defer { stopAtBar = savedBar }
                let idx = try parseExpr(level: .unify)
                skipNewlines()
                try expectPunct("]", "to close the reference")
                term = appendRef(term, idx)
            } else if isPunct("("), !current.spaceBefore {
                let loc = location
                guard let name = term.dottedName else { throw error("invalid function call: only names can be called") }
                pos += 1
                let savedBar = stopAtBar
                stopAtBar = false
                defer { stopAtBar = savedBar }

                skipNewlines()
                var args: [Term] = []
                while !isPunct(")") {
                    args.append(try parseExpr(level: .member))
                    skipNewlines()
                    if isPunct(",") {
                        pos += 1
                        skipNewlines()
                    } else {
                        break
                    }
                }
                try expectPunct(")", "to close the call of \(name.joined(separator: "."))")
                term = .call(name, args, loc)
            } else {
                return term
            }
        }
    }

    func appendRef(_ t: Term, _ p: Term) -> Term {
        if case .ref(let h, let path) = t { return .ref(h, path + [p]) }
        return .ref(t, [p])
    }

    // MARK: queries

    /// Parses a query: statements separated by newlines or `;`.
    mutating func parseQuery() throws -> Body {
        var exprs: [Expr] = []
        while true {
            while isNewline || isPunct(";") { pos += 1 }
            if isEOF { break }
            exprs.append(try parseLiteral())
            if isNewline || isPunct(";") || isEOF { continue }
            throw error("unexpected \(describe(current)) in query")
        }
        if exprs.isEmpty { throw error("empty query") }
        return Body(exprs: exprs)
    }

    // MARK: template strings

    /// `$"a {e} b"` becomes `internal.template_string(["a ", {v | v := e}, " b"])`: each embedded
    /// expression is a set comprehension, so an undefined one yields an empty set (printed `<undefined>`).
    mutating func templateTerm(_ parts: [TemplatePart], _ loc: SourceLocation) throws -> Term {
        var items: [Term] = []
        for part in parts {
            switch part {
            case .text(let t): items.append(.value(.string(t)))
            case .expr(let source, let line, let column):
                var sub = try Parser(file: file, source: source)
                sub.wildcardCounter = wildcardCounter + 100_000
                sub.skipNewlines()
                let at = SourceLocation(file: file, line: line, column: column)
                guard !sub.isEOF else {
                    throw RegoError(
                        code: "rego_parse_error", message: "empty template expression", file: file, line: line,
                        column: column)
                }
                let literal = try sub.parseLiteral()
                sub.skipNewlines()
                guard sub.isEOF, case .term(let term) = literal.kind, !literal.negated else {
                    throw RegoError(
                        code: "rego_parse_error",
                        message: "a template expression must be a single term or call (with optional 'with')",
                        file: file, line: line, column: column)
                }
                wildcardCounter = sub.wildcardCounter + 1
                // A name of its own per expression, so nested templates never shadow each other.
                let v = Term.variable("__template_value\(wildcardCounter)")
                var e = Expr(kind: .assign(v, term), location: at)
                e.withs = literal.withs
                nestedBodies += 1
                items.append(.setComprehension(v, Body(exprs: [e])))
            }
        }
        return .call(["internal", "template_string"], [.array(items)], loc)
    }
}
