import Foundation

/// Validates a query document against a schema with the rules of OPA's validator (gqlparser's,
/// itself after graphql-js), walking the document the way gqlparser's walker does: each
/// operation with the fragments it spreads (each fragment once per operation), then each
/// fragment definition on its own. Errors come back in walk order; OPA reports them joined.
///
/// Rules: executable definitions only (by construction), fields on correct type, fragments on
/// composite types, known argument names, known directives (and their locations), known
/// fragment names, known root type, known type names, lone anonymous operation, no fragment
/// cycles, no undefined variables, no unused fragments, no unused variables, possible fragment
/// spreads, provided required arguments, scalar leafs, single field subscriptions, unique
/// argument/directive/fragment/input field/operation/variable names, values of correct type,
/// variables are input types, variables in allowed position, overlapping fields can be merged
/// (fields flattened through fragments and compared pairwise, within a bounded budget:
/// a document needing more comparisons is invalid rather than unchecked).
struct GraphQLValidator {
    let schema: GraphQLSchema
    let doc: GQLQueryDocument
    private(set) var errors: [GraphQLError] = []

    private var operation: GQLOperation?
    private var usedVariables: Set<String> = []
    private var visitedSpreads: Set<String> = []
    private var spreadFragments: Set<String> = []
    private var fragments: [String: GQLFragmentDefinition] = [:]
    /// Field-pair comparisons left for the overlapping-fields rule.
    private var overlapBudget = 200_000
    private var overlapBudgetReported = false

    init(schema: GraphQLSchema, doc: GQLQueryDocument) {
        self.schema = schema
        self.doc = doc
        for f in doc.fragments where fragments[f.name] == nil { fragments[f.name] = f }
    }

    static func validate(_ schema: GraphQLSchema, _ doc: GQLQueryDocument) -> [GraphQLError] {
        var v = GraphQLValidator(schema: schema, doc: doc)
        v.run()
        return v.errors
    }

    private mutating func add(_ pos: GQLPosition, _ message: String) {
        errors.append(GraphQLError(message: message, line: pos.line, column: pos.column))
    }

    private mutating func run() {
        documentRules()
        for op in doc.operations {
            visitedSpreads = []
            walkOperation(op)
        }
        operation = nil
        for f in doc.fragments {
            visitedSpreads = []
            walkFragment(f)
        }
        for f in doc.fragments where !spreadFragments.contains(f.name) {
            add(f.position, "Fragment \"\(f.name)\" is never used.")
        }
    }

    /// Rules over the whole document: unique names, lone anonymous operation, fragment cycles.
    private mutating func documentRules() {
        var seenOps: Set<String> = []
        for op in doc.operations {
            if op.name.isEmpty {
                if doc.operations.count > 1 {
                    add(op.position, "This anonymous operation must be the only defined operation.")
                }
            } else if !seenOps.insert(op.name).inserted {
                add(op.position, "There can be only one operation named \"\(op.name)\".")
            }
        }
        var seenFragments: Set<String> = []
        for f in doc.fragments where !seenFragments.insert(f.name).inserted {
            add(f.position, "There can be only one fragment named \"\(f.name)\".")
        }
        // Fragment cycles: depth-first over spreads, reporting each cycle once from its first fragment.
        var done: Set<String> = []
        for f in doc.fragments where !done.contains(f.name) {
            var path: [String] = []
            var onPath: Set<String> = []
            detectCycle(f.name, &path, &onPath, &done)
        }
    }

    private mutating func detectCycle(
        _ name: String, _ path: inout [String], _ onPath: inout Set<String>, _ done: inout Set<String>
    ) {
        guard let f = fragments[name], !done.contains(name) else { return }
        done.insert(name)
        onPath.insert(name)
        path.append(name)
        for spread in Self.spreads(f.selectionSet) {
            if onPath.contains(spread) {
                let start = path.firstIndex(of: spread) ?? 0
                let via = path[(start + 1)...]
                add(
                    f.position,
                    "Cannot spread fragment \"\(spread)\" within itself"
                        + (via.isEmpty ? "." : " via \(via.joined(separator: ", "))."))
            } else if path.count < GraphQLParser.maxDepth {
                detectCycle(spread, &path, &onPath, &done)
            }
        }
        path.removeLast()
        onPath.remove(name)
    }

    private static func spreads(_ sels: [GQLSelection]) -> [String] {
        var out: [String] = []
        var stack = sels
        while let s = stack.popLast() {
            switch s {
            case .field(let f): stack += f.selectionSet
            case .inlineFragment(let f): stack += f.selectionSet
            case .fragmentSpread(let f): out.append(f.name)
            }
        }
        return out.reversed()
    }

    // MARK: operations and fragments

    private mutating func walkOperation(_ op: GQLOperation) {
        operation = op
        usedVariables = []
        var seenVars: Set<String> = []
        for v in op.variableDefinitions {
            if !seenVars.insert(v.variable).inserted {
                add(v.position, "There can be only one variable named \"$\(v.variable)\".")
            }
            guard let t = v.type else {
                add(v.position, "Variable \"$\(v.variable)\" has no type.")
                continue
            }
            if let def = schema.types[t.name] {
                if !def.isInputType {
                    add(v.position, "Variable \"$\(v.variable)\" cannot be non-input type \"\(t.description)\".")
                }
            } else {
                add(v.position, "Unknown type \"\(t.name)\".")
            }
        }
        let root: GQLDefinition?
        let location: String
        switch op.operation {
        case "mutation":
            root = schema.mutation
            location = "MUTATION"
        case "subscription":
            root = schema.subscription
            location = "SUBSCRIPTION"
        default:
            root = schema.query
            location = "QUERY"
        }
        if root == nil { add(op.position, "Schema does not support operation type \"\(op.operation)\"") }
        for v in op.variableDefinitions {
            if let dv = v.defaultValue, let t = v.type { walkValue(dv, expected: t, definition: schema.types[t.name]) }
            walkDirectives(v.directives, "VARIABLE_DEFINITION")
        }
        walkDirectives(op.directives, location)
        checkOverlaps(root, op.selectionSet)
        walkSelectionSet(root, op.selectionSet, depth: 0)
        if op.operation == "subscription" { singleFieldSubscription(op) }
        for v in op.variableDefinitions where !usedVariables.contains(v.variable) {
            let suffix = op.name.isEmpty ? "" : " in operation \"\(op.name)\""
            add(v.position, "Variable \"$\(v.variable)\" is never used\(suffix).")
        }
        operation = nil
    }

    private mutating func walkFragment(_ f: GQLFragmentDefinition) {
        let def = schema.types[f.typeCondition]
        if def == nil {
            add(f.position, "Unknown type \"\(f.typeCondition)\".")
        } else if let d = def, !d.isCompositeType {
            add(f.position, "Fragment \"\(f.name)\" cannot condition on non composite type \"\(f.typeCondition)\".")
        }
        walkDirectives(f.directives, "FRAGMENT_DEFINITION")
        checkOverlaps(def, f.selectionSet)
        walkSelectionSet(def, f.selectionSet, depth: 0)
    }

    private mutating func singleFieldSubscription(_ op: GQLOperation) {
        var names: [String] = []
        var seen: Set<String> = []
        var stack = Array(op.selectionSet.reversed())
        while let s = stack.popLast(), names.count < 1000 {
            switch s {
            case .field(let f): names.append(f.name)
            case .inlineFragment(let f): stack += f.selectionSet.reversed()
            case .fragmentSpread(let f):
                if seen.insert(f.name).inserted, let d = fragments[f.name] { stack += d.selectionSet.reversed() }
            }
        }
        let label = op.name.isEmpty ? "Anonymous Subscription" : "Subscription \(op.name)"
        if names.count > 1 { add(op.position, "\(label) must select only one top level field.") }
        if names.contains(where: { $0.hasPrefix("__") }) {
            add(op.position, "\(label) must not select an introspection top level field.")
        }
    }

    // MARK: selections

    private mutating func walkSelectionSet(_ parent: GQLDefinition?, _ sels: [GQLSelection], depth: Int) {
        guard depth < GraphQLParser.maxDepth * 4 else { return }
        for s in sels { walkSelection(parent, s, depth: depth) }
    }

    private mutating func walkSelection(_ parent: GQLDefinition?, _ sel: GQLSelection, depth: Int) {
        switch sel {
        case .field(let field):
            var def: GQLFieldDefinition? = nil
            if field.name == "__typename" {
                def = GQLFieldDefinition(
                    description: "", name: "__typename", arguments: [], defaultValue: nil,
                    type: GQLType(namedType: "String"), directives: [], position: .none)
            } else if let p = parent {
                def = p.field(field.name)
            }
            let next = def.flatMap { $0.type.flatMap { schema.types[$0.name] } }
            var seenArgs: Set<String> = []
            for arg in field.arguments {
                if !seenArgs.insert(arg.name).inserted {
                    add(arg.position, "There can be only one argument named \"\(arg.name)\".")
                }
                let argDef = def?.arguments.first { $0.name == arg.name }
                if let d = def, argDef == nil, let p = parent {
                    add(
                        arg.position,
                        "Unknown argument \"\(arg.name)\" on field \"\(p.name).\(field.name)\"."
                            + Self.suggestion("Did you mean", arg.name, d.arguments.map(\.name)))
                }
                if let v = arg.value {
                    walkValue(v, expected: argDef?.type, definition: argDef?.type.flatMap { schema.types[$0.name] })
                }
            }
            walkDirectives(field.directives, "FIELD")
            if !field.selectionSet.isEmpty { checkOverlaps(next, field.selectionSet) }
            walkSelectionSet(next, field.selectionSet, depth: depth + 1)
            // fields on correct type
            if let p = parent, def == nil {
                var message = "Cannot query field \"\(field.name)\" on type \"\(p.name)\"."
                let types = suggestedTypeNames(p, field.name)
                if !types.isEmpty {
                    message += " Did you mean to use an inline fragment on \(Self.quotedOrList(types))?"
                } else if p.kind == "OBJECT" || p.kind == "INTERFACE" {
                    message += Self.suggestion("Did you mean", field.name, p.fields.map(\.name))
                }
                add(field.position, message)
            }
            if let d = def {
                // provided required arguments
                for argDef in d.arguments where (argDef.type?.nonNull ?? false) && argDef.defaultValue == nil {
                    if !field.arguments.contains(where: { $0.name == argDef.name }) {
                        add(
                            field.position,
                            """
                            Field \"\(field.name)\" argument \"\(argDef.name)\" of type \
                            \"\(argDef.type!.description)\" is required, but it was not provided.
                            """
                        )
                    }
                }
                // scalar leafs
                if let t = d.type, let ft = schema.types[t.name] {
                    if ft.isLeafType && !field.selectionSet.isEmpty {
                        add(
                            field.position,
                            """
                            Field \"\(field.name)\" must not have a selection since type \"\(ft.name)\" has no \
                            subfields.
                            """
                        )
                    } else if !ft.isLeafType && field.selectionSet.isEmpty {
                        add(
                            field.position,
                            "Field \"\(field.name)\" of type \"\(t.description)\" must have a selection of subfields.")
                    }
                }
            }
        case .inlineFragment(let frag):
            var next = parent
            if !frag.typeCondition.isEmpty {
                next = schema.types[frag.typeCondition]
                if let t = next {
                    if !t.isCompositeType {
                        add(frag.position, "Fragment cannot condition on non composite type \"\(frag.typeCondition)\".")
                    } else if let p = parent, !overlap(p, t) {
                        add(
                            frag.position,
                            """
                            Fragment cannot be spread here as objects of type \"\(p.name)\" can never be of type \
                            \"\(t.name)\".
                            """
                        )
                    }
                } else {
                    add(frag.position, "Unknown type \"\(frag.typeCondition)\".")
                }
            }
            walkDirectives(frag.directives, "INLINE_FRAGMENT")
            checkOverlaps(next, frag.selectionSet)
            walkSelectionSet(next, frag.selectionSet, depth: depth + 1)
        case .fragmentSpread(let spread):
            let fragment = fragments[spread.name]
            let next = fragment.flatMap { schema.types[$0.typeCondition] }
            walkDirectives(spread.directives, "FRAGMENT_SPREAD")
            if operation != nil { spreadFragments.insert(spread.name) }
            if let f = fragment {
                if !visitedSpreads.contains(f.name) {
                    visitedSpreads.insert(f.name)
                    walkSelectionSet(next, f.selectionSet, depth: depth + 1)
                }
                if let p = parent, let t = next, t.isCompositeType, !overlap(p, t) {
                    add(
                        spread.position,
                        """
                        Fragment \"\(spread.name)\" cannot be spread here as objects of type \"\(p.name)\" can \
                        never be of type \"\(t.name)\".
                        """
                    )
                }
            } else {
                add(spread.position, "Unknown fragment \"\(spread.name)\".")
            }
        }
    }

    /// Whether two composite types share a possible object type.
    private func overlap(_ a: GQLDefinition, _ b: GQLDefinition) -> Bool {
        let x = Set(schema.possibleTypes(of: a).map(\.name))
        return schema.possibleTypes(of: b).contains { x.contains($0.name) }
    }

    // MARK: suggestions ("Did you mean …?"), as gqlparser words them

    /// Object types and interfaces under an abstract type that have the field, interfaces used
    /// most first, then by name.
    private func suggestedTypeNames(_ parent: GQLDefinition, _ name: String) -> [String] {
        guard parent.isAbstractType else { return [] }
        var objects: [String] = [], interfaces: [String] = []
        var usage: [String: Int] = [:]
        for t in schema.possibleTypes(of: parent) where t.field(name) != nil {
            objects.append(t.name)
            for i in t.interfaces where schema.types[i]?.field(name) != nil {
                if usage[i, default: 0] == 0 { interfaces.append(i) }
                usage[i, default: 0] += 1
            }
        }
        let all = interfaces + objects
        return all.enumerated().sorted { x, y in
            let diff = usage[y.element, default: 0] - usage[x.element, default: 0]
            if diff != 0 { return diff < 0 }
            if x.element != y.element { return x.element < y.element }
            return x.offset < y.offset
        }.map(\.element)
    }

    /// ` Did you mean "a" or "b"?`, or nothing when no option is close to `typed`.
    static func suggestion(_ prefix: String, _ typed: String, _ options: [String]) -> String {
        let list = suggestionList(typed, options)
        return list.isEmpty ? "" : " \(prefix) \(quotedOrList(list))?"
    }

    static func quotedOrList(_ items: [String]) -> String {
        let quoted = items.prefix(5).map { "\"\($0)\"" }
        switch quoted.count {
        case 0: return ""
        case 1: return quoted[0]
        case 2: return "\(quoted[0]) or \(quoted[1])"
        default: return quoted.dropLast().joined(separator: ", ") + ", or " + quoted.last!
        }
    }

    /// Options within an edit distance of 40% of the input's length (+1), closest first, then by name.
    static func suggestionList(_ input: String, _ options: [String]) -> [String] {
        let threshold = max(1, Int((Double(input.utf8.count) * 0.4).rounded(.down)) + 1)
        var scored: [(String, Int)] = []
        for o in options {
            if let d = lexicalDistance(input, o, threshold) { scored.append((o, d)) }
        }
        return scored.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.map(\.0)
    }

    /// Damerau-Levenshtein distance of the lowercased strings (1 when they differ only in
    /// case), or nil when it exceeds `threshold`.
    static func lexicalDistance(_ a: String, _ b: String, _ threshold: Int) -> Int? {
        if a == b { return 0 }
        let x = Array(a.lowercased().unicodeScalars), y = Array(b.lowercased().unicodeScalars)
        if x == y { return 1 }
        if abs(x.count - y.count) > threshold { return nil }
        var rows = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { rows[i][0] = i }
        for j in 0...y.count { rows[0][j] = j }
        if !x.isEmpty && !y.isEmpty {
            for i in 1...x.count {
                for j in 1...y.count {
                    let cost = x[i - 1] == y[j - 1] ? 0 : 1
                    var v = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
                    if i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] {
                        v = min(v, rows[i - 2][j - 2] + 1)
                    }
                    rows[i][j] = v
                }
            }
        }
        let d = rows[x.count][y.count]
        return d <= threshold ? d : nil
    }

    // MARK: overlapping fields can be merged

    /// A field as it contributes to a response: its parent type, node and definition.
    private struct CollectedField {
        let parent: GQLDefinition?
        let field: GQLField
        let definition: GQLFieldDefinition?
    }

    /// Fields of a selection set by response name, through inline fragments and fragment spreads
    /// (each fragment once), in document order.
    private func collectFields(_ parent: GQLDefinition?, _ sels: [GQLSelection]) -> [(String, [CollectedField])] {
        var order: [String] = []
        var map: [String: [CollectedField]] = [:]
        var seenFragments: Set<String> = []
        func visit(_ parent: GQLDefinition?, _ sels: [GQLSelection], _ depth: Int) {
            guard depth < GraphQLParser.maxDepth else { return }
            for s in sels {
                switch s {
                case .field(let f):
                    let key = f.alias.isEmpty ? f.name : f.alias
                    var def: GQLFieldDefinition? = nil
                    if f.name == "__typename" {
                        def = GQLFieldDefinition(
                            description: "", name: "__typename", arguments: [], defaultValue: nil,
                            type: GQLType(namedType: "String"), directives: [], position: .none)
                    } else {
                        def = parent?.field(f.name)
                    }
                    if map[key] == nil { order.append(key) }
                    map[key, default: []].append(CollectedField(parent: parent, field: f, definition: def))
                case .inlineFragment(let i):
                    visit(i.typeCondition.isEmpty ? parent : schema.types[i.typeCondition], i.selectionSet, depth + 1)
                case .fragmentSpread(let sp):
                    guard seenFragments.insert(sp.name).inserted, let f = fragments[sp.name] else { continue }
                    visit(schema.types[f.typeCondition], f.selectionSet, depth + 1)
                }
            }
        }
        visit(parent, sels, 0)
        return order.map { ($0, map[$0]!) }
    }

    private mutating func checkOverlaps(_ parent: GQLDefinition?, _ sels: [GQLSelection]) {
        for (name, fields) in collectFields(parent, sels) where fields.count > 1 {
            for i in 0..<fields.count {
                for j in (i + 1)..<fields.count {
                    if let reason = conflict(false, fields[i], fields[j], depth: 0) {
                        add(
                            fields[i].field.position,
                            """
                            Fields \"\(name)\" conflict because \(reason). Use different aliases on the fields to \
                            fetch both if this was intentional.
                            """
                        )
                    }
                }
            }
        }
    }

    private mutating func spend() -> Bool {
        if overlapBudget > 0 {
            overlapBudget -= 1
            return true
        }
        if !overlapBudgetReported {
            overlapBudgetReported = true
            add(.none, "too many fields with the same response name to check that they can be merged")
        }
        return false
    }

    /// Why two fields with the same response name cannot be merged, or nil when they can.
    private mutating func conflict(_ parentsExclusive: Bool, _ a: CollectedField, _ b: CollectedField, depth: Int)
        -> String?
    {
        guard spend(), depth < GraphQLParser.maxDepth else { return nil }
        let exclusive =
            parentsExclusive || (a.parent !== b.parent && a.parent?.kind == "OBJECT" && b.parent?.kind == "OBJECT")
        if !exclusive {
            if a.field.name != b.field.name { return "\(a.field.name) and \(b.field.name) are different fields" }
            if !Self.sameArguments(a.field.arguments, b.field.arguments) { return "they have differing arguments" }
        }
        if let t1 = a.definition?.type, let t2 = b.definition?.type, typesConflict(t1, t2) {
            return "they return conflicting types \"\(t1.description)\" and \"\(t2.description)\""
        }
        if !a.field.selectionSet.isEmpty && !b.field.selectionSet.isEmpty {
            let p1 = a.definition?.type.flatMap { schema.types[$0.name] }
            let p2 = b.definition?.type.flatMap { schema.types[$0.name] }
            let f1 = collectFields(p1, a.field.selectionSet),
                f2 = Dictionary(uniqueKeysWithValues: collectFields(p2, b.field.selectionSet))
            var reasons: [String] = []
            for (name, xs) in f1 {
                guard let ys = f2[name] else { continue }
                for x in xs {
                    for y in ys {
                        if let r = conflict(exclusive, x, y, depth: depth + 1) {
                            reasons.append("subfields \"\(name)\" conflict because \(r)")
                        }
                    }
                }
            }
            if !reasons.isEmpty { return reasons.joined(separator: " and ") }
        }
        return nil
    }

    private func typesConflict(_ a: GQLType, _ b: GQLType) -> Bool {
        if a.elem != nil || b.elem != nil {
            guard let ea = a.elem, let eb = b.elem, a.nonNull == b.nonNull else { return true }
            return typesConflict(ea, eb)
        }
        if a.nonNull != b.nonNull { return true }
        let leaf = (schema.types[a.namedType]?.isLeafType ?? false) || (schema.types[b.namedType]?.isLeafType ?? false)
        return leaf && a.namedType != b.namedType
    }

    private static func sameArguments(_ x: [GQLArgument], _ y: [GQLArgument]) -> Bool {
        guard x.count == y.count else { return false }
        return x.allSatisfy { a in y.contains { $0.name == a.name && sameValue(a.value, $0.value) } }
    }

    private static func sameValue(_ a: GQLValue?, _ b: GQLValue?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        guard a.kind == b.kind, a.raw == b.raw, a.children.count == b.children.count else { return false }
        return zip(a.children, b.children).allSatisfy { $0.name == $1.name && sameValue($0.value, $1.value) }
    }

    // MARK: directives and values

    private mutating func walkDirectives(_ dirs: [GQLDirective], _ location: String) {
        var seen: Set<String> = []
        for dir in dirs {
            let def = schema.directives[dir.name]
            var seenArgs: Set<String> = []
            for arg in dir.arguments {
                if !seenArgs.insert(arg.name).inserted {
                    add(arg.position, "There can be only one argument named \"\(arg.name)\".")
                }
                let argDef = def?.arguments.first { $0.name == arg.name }
                if let d = def, argDef == nil {
                    add(
                        arg.position,
                        "Unknown argument \"\(arg.name)\" on directive \"@\(dir.name)\"."
                            + Self.suggestion("Did you mean", arg.name, d.arguments.map(\.name)))
                }
                if let v = arg.value {
                    walkValue(v, expected: argDef?.type, definition: argDef?.type.flatMap { schema.types[$0.name] })
                }
            }
            guard let d = def else {
                add(dir.position, "Unknown directive \"@\(dir.name)\".")
                continue
            }
            if !d.locations.contains(location) {
                add(dir.position, "Directive \"@\(dir.name)\" may not be used on \(location).")
            }
            if !d.isRepeatable && !seen.insert(dir.name).inserted {
                add(dir.position, "The directive \"@\(dir.name)\" can only be used once at this location.")
            }
            for argDef in d.arguments where (argDef.type?.nonNull ?? false) && argDef.defaultValue == nil {
                if !dir.arguments.contains(where: { $0.name == argDef.name }) {
                    add(
                        dir.position,
                        """
                        Directive \"@\(dir.name)\" argument \"\(argDef.name)\" of type \
                        \"\(argDef.type!.description)\" is required, but it was not provided.
                        """
                    )
                }
            }
        }
    }

    private static let builtinScalars: Set<String> = ["Int", "Float", "String", "Boolean", "ID"]

    private mutating func walkValue(_ value: GQLValue, expected: GQLType?, definition: GQLDefinition?, depth: Int = 0) {
        guard depth < GraphQLParser.maxDepth * 2 else { return }
        var variableDefinition: GQLVariableDefinition? = nil
        if value.kind == .variable, let op = operation {
            variableDefinition = op.variableDefinitions.first { $0.variable == value.raw }
            if variableDefinition != nil { usedVariables.insert(value.raw) }
        }
        switch value.kind {
        case .object:
            var seen: Set<String> = []
            for child in value.children {
                if !seen.insert(child.name).inserted {
                    add(child.position, "There can be only one input field named \"\(child.name)\".")
                }
                let fieldDef = definition?.field(child.name)
                if let v = child.value {
                    walkValue(
                        v, expected: fieldDef?.type, definition: fieldDef?.type.flatMap { schema.types[$0.name] },
                        depth: depth + 1)
                }
            }
        case .list:
            for child in value.children {
                guard let v = child.value else { continue }
                if let e = expected?.elem {
                    walkValue(v, expected: e, definition: definition, depth: depth + 1)
                } else {
                    walkValue(v, expected: nil, definition: nil, depth: depth + 1)
                }
            }
        default: break
        }
        // no undefined variables
        if value.kind == .variable, let op = operation, variableDefinition == nil {
            let suffix = op.name.isEmpty ? "." : " by operation \"\(op.name)\"."
            add(value.position, "Variable \"$\(value.raw)\" is not defined\(suffix)")
        }
        // variables in allowed position
        if value.kind == .variable, let e = expected, let vd = variableDefinition, let vt = vd.type, operation != nil {
            let want = e.copy()
            if let dv = vd.defaultValue, dv.kind != .null, e.nonNull { want.nonNull = false }
            if !vt.isCompatible(want) {
                add(
                    value.position,
                    """
                    Variable \"\(value.description)\" of type \"\(vt.description)\" used in position expecting \
                    type \"\(e.description)\".
                    """
                )
            }
        }
        valuesOfCorrectType(value, expected: expected, definition: definition)
    }

    private mutating func valuesOfCorrectType(_ value: GQLValue, expected: GQLType?, definition: GQLDefinition?) {
        guard let def = definition, let e = expected else { return }
        if value.kind == .null && e.nonNull {
            add(value.position, "Expected value of type \"\(e.description)\", found \(value.description).")
        }
        if def.kind == "SCALAR" && !Self.builtinScalars.contains(def.name) { return }
        func unexpected() {
            let s = value.description
            switch e.description {
            case "Int", "Int!": add(value.position, "Int cannot represent non-integer value: \(s)")
            case "String", "String!", "[String]":
                add(value.position, "String cannot represent a non string value: \(s)")
            case "Boolean", "Boolean!": add(value.position, "Boolean cannot represent a non boolean value: \(s)")
            case "Float", "Float!": add(value.position, "Float cannot represent non numeric value: \(s)")
            case "ID", "ID!": add(value.position, "ID cannot represent a non-string and non-integer value: \(s)")
            default:
                if def.kind == "ENUM" {
                    add(value.position, "Enum \"\(e.description)\" cannot represent non-enum value: \(s).")
                } else {
                    add(value.position, "Expected value of type \"\(e.description)\", found \(s).")
                }
            }
        }
        switch value.kind {
        case .null, .variable:
            return
        case .list:
            if e.elem == nil { unexpected() }
        case .int:
            if Int64(value.raw) == nil {
                unexpected()
            } else if !["Int", "Float", "ID"].contains(def.name) {
                unexpected()
            }
        case .float:
            if Double(value.raw) == nil { unexpected() } else if def.name != "Float" { unexpected() }
        case .string, .block:
            if def.kind == "ENUM" {
                add(value.position, "Enum \"\(e.description)\" cannot represent non-enum value: \(value.description).")
            } else if !["String", "ID"].contains(def.name) {
                unexpected()
            }
        case .enumValue:
            if def.kind != "ENUM" {
                unexpected()
            } else if !def.enumValues.contains(where: { $0.name == value.raw }) {
                add(value.position, "Value \"\(value.raw)\" does not exist in \"\(e.description)\" enum.")
            }
        case .boolean:
            if def.name != "Boolean" { unexpected() }
        case .object:
            for field in def.fields where (field.type?.nonNull ?? false) {
                if !value.children.contains(where: { $0.name == field.name }) && field.defaultValue == nil {
                    add(
                        value.position,
                        """
                        Field \"\(def.name).\(field.name)\" of required type \"\(field.type!.description)\" was \
                        not provided.
                        """
                    )
                }
            }
            for child in value.children where def.field(child.name) == nil {
                add(child.position, "Field \"\(child.name)\" is not defined by type \"\(def.name)\".")
            }
        }
    }
}
