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
/// variables are input types, variables in allowed position. Not checked: overlapping fields
/// can be merged (documented in docs/rego.md).
struct GraphQLValidator {
    let schema: GraphQLSchema
    let doc: GQLQueryDocument
    private(set) var errors: [GraphQLError] = []

    private var operation: GQLOperation?
    private var usedVariables: Set<String> = []
    private var visitedSpreads: Set<String> = []
    private var spreadFragments: Set<String> = []
    private var fragments: [String: GQLFragmentDefinition] = [:]

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
                if doc.operations.count > 1 { add(op.position, "This anonymous operation must be the only defined operation.") }
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

    private mutating func detectCycle(_ name: String, _ path: inout [String], _ onPath: inout Set<String>, _ done: inout Set<String>) {
        guard let f = fragments[name], !done.contains(name) else { return }
        done.insert(name)
        onPath.insert(name)
        path.append(name)
        for spread in Self.spreads(f.selectionSet) {
            if onPath.contains(spread) {
                let start = path.firstIndex(of: spread) ?? 0
                let via = path[(start + 1)...]
                add(f.position, "Cannot spread fragment \"\(spread)\" within itself" + (via.isEmpty ? "." : " via \(via.joined(separator: ", ")).") )
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
            if !seenVars.insert(v.variable).inserted { add(v.position, "There can be only one variable named \"$\(v.variable)\".") }
            guard let t = v.type else { add(v.position, "Variable \"$\(v.variable)\" has no type."); continue }
            if let def = schema.types[t.name] {
                if !def.isInputType { add(v.position, "Variable \"$\(v.variable)\" cannot be non-input type \"\(t.description)\".") }
            } else {
                add(v.position, "Unknown type \"\(t.name)\".")
            }
        }
        let root: GQLDefinition?
        let location: String
        switch op.operation {
        case "mutation": root = schema.mutation; location = "MUTATION"
        case "subscription": root = schema.subscription; location = "SUBSCRIPTION"
        default: root = schema.query; location = "QUERY"
        }
        if root == nil { add(op.position, "Schema does not support operation type \"\(op.operation)\"") }
        for v in op.variableDefinitions {
            if let dv = v.defaultValue, let t = v.type { walkValue(dv, expected: t, definition: schema.types[t.name]) }
            walkDirectives(v.directives, "VARIABLE_DEFINITION")
        }
        walkDirectives(op.directives, location)
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
        if names.contains(where: { $0.hasPrefix("__") }) { add(op.position, "\(label) must not select an introspection top level field.") }
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
                def = GQLFieldDefinition(description: "", name: "__typename", arguments: [], defaultValue: nil,
                                         type: GQLType(namedType: "String"), directives: [], position: .none)
            } else if let p = parent {
                def = p.field(field.name)
            }
            let next = def.flatMap { $0.type.flatMap { schema.types[$0.name] } }
            var seenArgs: Set<String> = []
            for arg in field.arguments {
                if !seenArgs.insert(arg.name).inserted { add(arg.position, "There can be only one argument named \"\(arg.name)\".") }
                let argDef = def?.arguments.first { $0.name == arg.name }
                if let d = def, argDef == nil, let p = parent {
                    add(arg.position, "Unknown argument \"\(arg.name)\" on field \"\(p.name).\(field.name)\".")
                    _ = d
                }
                if let v = arg.value { walkValue(v, expected: argDef?.type, definition: argDef?.type.flatMap { schema.types[$0.name] }) }
            }
            walkDirectives(field.directives, "FIELD")
            walkSelectionSet(next, field.selectionSet, depth: depth + 1)
            // fields on correct type
            if let p = parent, def == nil {
                add(field.position, "Cannot query field \"\(field.name)\" on type \"\(p.name)\".")
            }
            if let d = def {
                // provided required arguments
                for argDef in d.arguments where (argDef.type?.nonNull ?? false) && argDef.defaultValue == nil {
                    if !field.arguments.contains(where: { $0.name == argDef.name }) {
                        add(field.position, "Field \"\(field.name)\" argument \"\(argDef.name)\" of type \"\(argDef.type!.description)\" is required, but it was not provided.")
                    }
                }
                // scalar leafs
                if let t = d.type, let ft = schema.types[t.name] {
                    if ft.isLeafType && !field.selectionSet.isEmpty {
                        add(field.position, "Field \"\(field.name)\" must not have a selection since type \"\(ft.name)\" has no subfields.")
                    } else if !ft.isLeafType && field.selectionSet.isEmpty {
                        add(field.position, "Field \"\(field.name)\" of type \"\(t.description)\" must have a selection of subfields.")
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
                        add(frag.position, "Fragment cannot be spread here as objects of type \"\(p.name)\" can never be of type \"\(t.name)\".")
                    }
                } else {
                    add(frag.position, "Unknown type \"\(frag.typeCondition)\".")
                }
            }
            walkDirectives(frag.directives, "INLINE_FRAGMENT")
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
                    add(spread.position, "Fragment \"\(spread.name)\" cannot be spread here as objects of type \"\(p.name)\" can never be of type \"\(t.name)\".")
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

    // MARK: directives and values

    private mutating func walkDirectives(_ dirs: [GQLDirective], _ location: String) {
        var seen: Set<String> = []
        for dir in dirs {
            let def = schema.directives[dir.name]
            var seenArgs: Set<String> = []
            for arg in dir.arguments {
                if !seenArgs.insert(arg.name).inserted { add(arg.position, "There can be only one argument named \"\(arg.name)\".") }
                let argDef = def?.arguments.first { $0.name == arg.name }
                if def != nil && argDef == nil { add(arg.position, "Unknown argument \"\(arg.name)\" on directive \"@\(dir.name)\".") }
                if let v = arg.value { walkValue(v, expected: argDef?.type, definition: argDef?.type.flatMap { schema.types[$0.name] }) }
            }
            guard let d = def else {
                add(dir.position, "Unknown directive \"@\(dir.name)\".")
                continue
            }
            if !d.locations.contains(location) { add(dir.position, "Directive \"@\(dir.name)\" may not be used on \(location).") }
            if !d.isRepeatable && !seen.insert(dir.name).inserted {
                add(dir.position, "The directive \"@\(dir.name)\" can only be used once at this location.")
            }
            for argDef in d.arguments where (argDef.type?.nonNull ?? false) && argDef.defaultValue == nil {
                if !dir.arguments.contains(where: { $0.name == argDef.name }) {
                    add(dir.position, "Directive \"@\(dir.name)\" argument \"\(argDef.name)\" of type \"\(argDef.type!.description)\" is required, but it was not provided.")
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
                if !seen.insert(child.name).inserted { add(child.position, "There can be only one input field named \"\(child.name)\".") }
                let fieldDef = definition?.field(child.name)
                if let v = child.value {
                    walkValue(v, expected: fieldDef?.type, definition: fieldDef?.type.flatMap { schema.types[$0.name] }, depth: depth + 1)
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
                add(value.position, "Variable \"\(value.description)\" of type \"\(vt.description)\" used in position expecting type \"\(e.description)\".")
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
            case "String", "String!", "[String]": add(value.position, "String cannot represent a non string value: \(s)")
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
            if Int64(value.raw) == nil { unexpected() } else if !["Int", "Float", "ID"].contains(def.name) { unexpected() }
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
                    add(value.position, "Field \"\(def.name).\(field.name)\" of required type \"\(field.type!.description)\" was not provided.")
                }
            }
            for child in value.children where def.field(child.name) == nil {
                add(child.position, "Field \"\(child.name)\" is not defined by type \"\(def.name)\".")
            }
        }
    }
}
