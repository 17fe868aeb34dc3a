import Foundation

/// Converts GraphQL documents to the Rego objects OPA returns, and Rego objects back to documents.
///
/// OPA turns gqlparser's Go structs into JSON and prunes them: `Position`, nulls and empty
/// arrays/objects are dropped, while empty strings, `false` and `0` stay. Field names are the
/// Go struct names (`SelectionSet`, `NamedType`, `Kind` …). Going back, OPA unmarshals the
/// object with Go's JSON rules, which this mirrors: keys match case-insensitively, unknown keys
/// are ignored, a value of the wrong type is an error, and every selection is read as a field
/// (gqlparser tries `Field` first, and an object always fits it).
enum GraphQLRego {
    // MARK: to Rego

    private static func obj(_ pairs: [(String, RegoValue?)]) -> RegoValue {
        var o: [RegoValue: RegoValue] = [:]
        for (k, v) in pairs {
            guard let v else { continue }
            switch v {
            case .array(let a) where a.isEmpty: continue
            case .object(let m) where m.isEmpty: continue
            default: o[.string(k)] = v
            }
        }
        return .object(o)
    }

    private static func arr<T>(_ xs: [T], _ f: (T) -> RegoValue?) -> RegoValue {
        .array(
            xs.compactMap { x -> RegoValue? in
                guard let v = f(x) else { return nil }
                if case .object(let m) = v, m.isEmpty { return nil }
                if case .array(let a) = v, a.isEmpty { return nil }
                return v
            })
    }

    private static func strings(_ xs: [String]) -> RegoValue { .array(xs.map { .string($0) }) }

    static func value(_ v: GQLValue?) -> RegoValue? {
        guard let v else { return nil }
        return obj([
            ("Raw", .string(v.raw)),
            ("Children", arr(v.children) { c in obj([("Name", .string(c.name)), ("Value", value(c.value))]) }),
            ("Kind", .int(v.kind.rawValue)),
            ("ExpectedTypeHasDefault", .bool(false)),
        ])
    }

    static func type(_ t: GQLType?) -> RegoValue? {
        guard let t else { return nil }
        return obj([("NamedType", .string(t.namedType)), ("Elem", type(t.elem)), ("NonNull", .bool(t.nonNull))])
    }

    static func arguments(_ args: [GQLArgument]) -> RegoValue {
        arr(args) { a in obj([("Name", .string(a.name)), ("Value", value(a.value))]) }
    }

    static func directives(_ ds: [GQLDirective]) -> RegoValue {
        arr(ds) { d in
            obj([("Name", .string(d.name)), ("Arguments", arguments(d.arguments)), ("Location", .string(""))])
        }
    }

    static func variableDefinitions(_ vs: [GQLVariableDefinition]) -> RegoValue {
        arr(vs) { v in
            obj([
                ("Variable", .string(v.variable)), ("Type", type(v.type)), ("DefaultValue", value(v.defaultValue)),
                ("Directives", directives(v.directives)), ("Used", .bool(false)),
            ])
        }
    }

    static func selectionSet(_ sels: [GQLSelection]) -> RegoValue {
        arr(sels) { s in
            switch s {
            case .field(let f):
                return obj([
                    ("Alias", .string(f.alias)), ("Name", .string(f.name)), ("Arguments", arguments(f.arguments)),
                    ("Directives", directives(f.directives)), ("SelectionSet", selectionSet(f.selectionSet)),
                ])
            case .fragmentSpread(let f):
                return obj([("Name", .string(f.name)), ("Directives", directives(f.directives))])
            case .inlineFragment(let f):
                return obj([
                    ("TypeCondition", .string(f.typeCondition)), ("Directives", directives(f.directives)),
                    ("SelectionSet", selectionSet(f.selectionSet)),
                ])
            }
        }
    }

    static func query(_ doc: GQLQueryDocument) -> RegoValue {
        obj([
            (
                "Operations",
                arr(doc.operations) { o in
                    obj([
                        ("Operation", .string(o.operation)), ("Name", .string(o.name)),
                        ("VariableDefinitions", variableDefinitions(o.variableDefinitions)),
                        ("Directives", directives(o.directives)), ("SelectionSet", selectionSet(o.selectionSet)),
                    ])
                }
            ),
            (
                "Fragments",
                arr(doc.fragments) { f in
                    obj([
                        ("Name", .string(f.name)), ("VariableDefinition", variableDefinitions(f.variableDefinitions)),
                        ("TypeCondition", .string(f.typeCondition)), ("Directives", directives(f.directives)),
                        ("SelectionSet", selectionSet(f.selectionSet)),
                    ])
                }
            ),
        ])
    }

    static func argumentDefinitions(_ args: [GQLArgumentDefinition]) -> RegoValue {
        arr(args) { a in
            obj([
                ("Description", .string(a.description)), ("Name", .string(a.name)),
                ("DefaultValue", value(a.defaultValue)),
                ("Type", type(a.type)), ("Directives", directives(a.directives)),
            ])
        }
    }

    static func definition(_ d: GQLDefinition) -> RegoValue {
        obj([
            ("Kind", .string(d.kind)), ("Description", .string(d.description)), ("Name", .string(d.name)),
            ("Directives", directives(d.directives)), ("Interfaces", strings(d.interfaces)),
            (
                "Fields",
                arr(d.fields) { f in
                    obj([
                        ("Description", .string(f.description)), ("Name", .string(f.name)),
                        ("Arguments", argumentDefinitions(f.arguments)), ("DefaultValue", value(f.defaultValue)),
                        ("Type", type(f.type)), ("Directives", directives(f.directives)),
                    ])
                }
            ),
            ("Types", strings(d.types)),
            (
                "EnumValues",
                arr(d.enumValues) { e in
                    obj([
                        ("Description", .string(e.description)), ("Name", .string(e.name)),
                        ("Directives", directives(e.directives)),
                    ])
                }
            ),
            ("BuiltIn", .bool(d.builtIn)),
        ])
    }

    static func schemaDefinition(_ s: GQLSchemaDefinition) -> RegoValue {
        obj([
            ("Description", .string(s.description)), ("Directives", directives(s.directives)),
            (
                "OperationTypes",
                arr(s.operationTypes) { o in obj([("Operation", .string(o.operation)), ("Type", .string(o.type))]) }
            ),
        ])
    }

    static func schema(_ doc: GQLSchemaDocument) -> RegoValue {
        obj([
            ("Schema", arr(doc.schema, schemaDefinition)),
            ("SchemaExtension", arr(doc.schemaExtension, schemaDefinition)),
            (
                "Directives",
                arr(doc.directives) { d in
                    obj([
                        ("Description", .string(d.description)), ("Name", .string(d.name)),
                        ("Arguments", argumentDefinitions(d.arguments)), ("Locations", strings(d.locations)),
                        ("IsRepeatable", .bool(d.isRepeatable)),
                    ])
                }
            ),
            ("Definitions", arr(doc.definitions, definition)),
            ("Extensions", arr(doc.extensions, definition)),
        ])
    }

    // MARK: from Rego (Go's json.Unmarshal into gqlparser's structs)

    struct DecodeError: Error { let message: String }

    /// An object's fields by name, matched as Go does (exact first, then case-insensitively).
    struct Fields {
        let exact: [String: RegoValue]
        let folded: [String: RegoValue]
        init(_ v: RegoValue, _ what: String) throws {
            guard case .object(let o) = v else {
                throw DecodeError(
                    message: "json: cannot unmarshal \(GraphQLRego.jsonKind(v)) into Go value of type ast.\(what)")
            }
            var e: [String: RegoValue] = [:], f: [String: RegoValue] = [:]
            for (k, val) in o {
                guard case .string(let s) = k else { continue }
                e[s] = val
                f[s.lowercased()] = val
            }
            exact = e
            folded = f
        }
        subscript(_ key: String) -> RegoValue? {
            let v = exact[key] ?? folded[key.lowercased()]
            if v == .null { return nil }
            return v
        }
        func string(_ key: String) throws -> String {
            guard let v = self[key] else { return "" }
            guard case .string(let s) = v else {
                throw DecodeError(
                    message:
                        "json: cannot unmarshal \(GraphQLRego.jsonKind(v)) into Go struct field .\(key) of type string")
            }
            return s
        }
        func bool(_ key: String) throws -> Bool {
            guard let v = self[key] else { return false }
            guard case .bool(let b) = v else {
                throw DecodeError(
                    message:
                        "json: cannot unmarshal \(GraphQLRego.jsonKind(v)) into Go struct field .\(key) of type bool")
            }
            return b
        }
        func list(_ key: String) throws -> [RegoValue] {
            guard let v = self[key] else { return [] }
            guard case .array(let a) = v else {
                throw DecodeError(
                    message: "json: cannot unmarshal \(GraphQLRego.jsonKind(v)) into Go struct field .\(key) of type []"
                )
            }
            return a.filter { $0 != .null }
        }
        func strings(_ key: String) throws -> [String] {
            try list(key).map { v in
                guard case .string(let s) = v else {
                    throw DecodeError(
                        message:
                            """
                            json: cannot unmarshal \(GraphQLRego.jsonKind(v)) into Go struct field .\(key) of \
                            type string
                            """
                    )
                }
                return s
            }
        }
    }

    static func jsonKind(_ v: RegoValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "bool"
        case .number: return "number"
        case .string: return "string"
        case .array, .set: return "array"
        case .object: return "object"
        }
    }

    /// Bounds recursion on values built by a policy.
    private static func checkDepth(_ depth: Int) throws {
        if depth > GraphQLParser.maxDepth {
            throw DecodeError(message: "GraphQL AST object nested deeper than \(GraphQLParser.maxDepth) levels")
        }
    }

    static func decodeValue(_ v: RegoValue?, _ depth: Int) throws -> GQLValue? {
        guard let v, v != .null else { return nil }
        try checkDepth(depth)
        let f = try Fields(v, "Value")
        var kind = GQLValueKind.variable
        if let k = f["Kind"] {
            guard case .number(let n) = k, let i = n.intValue, let vk = GQLValueKind(rawValue: i) else {
                throw DecodeError(
                    message:
                        """
                        json: cannot unmarshal \(k.jsonString()) into Go struct field Value.Kind of type \
                        ast.ValueKind (0 to 9)
                        """
                )
            }
            kind = vk
        }
        let children = try f.list("Children").map { c -> GQLChildValue in
            let cf = try Fields(c, "ChildValue")
            return GQLChildValue(
                name: try cf.string("Name"), value: try decodeValue(cf["Value"], depth + 1), position: .none)
        }
        return GQLValue(raw: try f.string("Raw"), children: children, kind: kind, position: .none)
    }

    static func decodeType(_ v: RegoValue?, _ depth: Int) throws -> GQLType? {
        guard let v, v != .null else { return nil }
        try checkDepth(depth)
        let f = try Fields(v, "Type")
        return GQLType(
            namedType: try f.string("NamedType"), elem: try decodeType(f["Elem"], depth + 1),
            nonNull: try f.bool("NonNull"))
    }

    static func decodeDirectives(_ f: Fields) throws -> [GQLDirective] {
        try f.list("Directives").map { d in
            let df = try Fields(d, "Directive")
            return GQLDirective(name: try df.string("Name"), arguments: try decodeArguments(df), position: .none)
        }
    }

    static func decodeArguments(_ f: Fields) throws -> [GQLArgument] {
        try f.list("Arguments").map { a in
            let af = try Fields(a, "Argument")
            return GQLArgument(name: try af.string("Name"), value: try decodeValue(af["Value"], 1), position: .none)
        }
    }

    static func decodeVariableDefinitions(_ f: Fields, _ key: String) throws -> [GQLVariableDefinition] {
        try f.list(key).map { v in
            let vf = try Fields(v, "VariableDefinition")
            return GQLVariableDefinition(
                variable: try vf.string("Variable"), type: try decodeType(vf["Type"], 1),
                defaultValue: try decodeValue(vf["DefaultValue"], 1),
                directives: try decodeDirectives(vf), position: .none)
        }
    }

    static func decodeSelectionSet(_ f: Fields, _ depth: Int) throws -> [GQLSelection] {
        try checkDepth(depth)
        return try f.list("SelectionSet").map { s in
            let sf = try Fields(s, "Field")
            return .field(
                GQLField(
                    alias: try sf.string("Alias"), name: try sf.string("Name"), arguments: try decodeArguments(sf),
                    directives: try decodeDirectives(sf), selectionSet: try decodeSelectionSet(sf, depth + 1),
                    position: .none))
        }
    }

    static func decodeQuery(_ v: RegoValue) throws -> GQLQueryDocument {
        let f = try Fields(v, "QueryDocument")
        var doc = GQLQueryDocument()
        doc.operations = try f.list("Operations").map { o in
            let of = try Fields(o, "OperationDefinition")
            return GQLOperation(
                operation: try of.string("Operation"), name: try of.string("Name"),
                variableDefinitions: try decodeVariableDefinitions(of, "VariableDefinitions"),
                directives: try decodeDirectives(of), selectionSet: try decodeSelectionSet(of, 1), position: .none)
        }
        doc.fragments = try f.list("Fragments").map { o in
            let ff = try Fields(o, "FragmentDefinition")
            return GQLFragmentDefinition(
                name: try ff.string("Name"),
                variableDefinitions: try decodeVariableDefinitions(ff, "VariableDefinition"),
                typeCondition: try ff.string("TypeCondition"), directives: try decodeDirectives(ff),
                selectionSet: try decodeSelectionSet(ff, 1), position: .none)
        }
        return doc
    }

    static func decodeArgumentDefinitions(_ f: Fields) throws -> [GQLArgumentDefinition] {
        try f.list("Arguments").map { a in
            let af = try Fields(a, "ArgumentDefinition")
            return GQLArgumentDefinition(
                description: try af.string("Description"), name: try af.string("Name"),
                defaultValue: try decodeValue(af["DefaultValue"], 1), type: try decodeType(af["Type"], 1),
                directives: try decodeDirectives(af), position: .none)
        }
    }

    static func decodeDefinition(_ v: RegoValue) throws -> GQLDefinition {
        let f = try Fields(v, "Definition")
        let fields = try f.list("Fields").map { x -> GQLFieldDefinition in
            let ff = try Fields(x, "FieldDefinition")
            return GQLFieldDefinition(
                description: try ff.string("Description"), name: try ff.string("Name"),
                arguments: try decodeArgumentDefinitions(ff), defaultValue: try decodeValue(ff["DefaultValue"], 1),
                type: try decodeType(ff["Type"], 1), directives: try decodeDirectives(ff), position: .none)
        }
        let enumValues = try f.list("EnumValues").map { x -> GQLEnumValueDefinition in
            let ef = try Fields(x, "EnumValueDefinition")
            return GQLEnumValueDefinition(
                description: try ef.string("Description"), name: try ef.string("Name"),
                directives: try decodeDirectives(ef), position: .none)
        }
        return GQLDefinition(
            kind: try f.string("Kind"), description: try f.string("Description"), name: try f.string("Name"),
            directives: try decodeDirectives(f), interfaces: try f.strings("Interfaces"), fields: fields,
            types: try f.strings("Types"), enumValues: enumValues, position: .none, builtIn: try f.bool("BuiltIn"))
    }

    static func decodeSchemaDefinition(_ v: RegoValue) throws -> GQLSchemaDefinition {
        let f = try Fields(v, "SchemaDefinition")
        let ops = try f.list("OperationTypes").map { o -> GQLOperationTypeDefinition in
            let of = try Fields(o, "OperationTypeDefinition")
            return GQLOperationTypeDefinition(
                operation: try of.string("Operation"), type: try of.string("Type"), position: .none)
        }
        return GQLSchemaDefinition(
            description: try f.string("Description"), directives: try decodeDirectives(f), operationTypes: ops,
            position: .none)
    }

    static func decodeSchema(_ v: RegoValue) throws -> GQLSchemaDocument {
        let f = try Fields(v, "SchemaDocument")
        var doc = GQLSchemaDocument()
        doc.schema = try f.list("Schema").map(decodeSchemaDefinition)
        doc.schemaExtension = try f.list("SchemaExtension").map(decodeSchemaDefinition)
        doc.directives = try f.list("Directives").map { d -> GQLDirectiveDefinition in
            let df = try Fields(d, "DirectiveDefinition")
            return GQLDirectiveDefinition(
                description: try df.string("Description"), name: try df.string("Name"),
                arguments: try decodeArgumentDefinitions(df), locations: try df.strings("Locations"),
                isRepeatable: try df.bool("IsRepeatable"), position: .none)
        }
        doc.definitions = try f.list("Definitions").map(decodeDefinition)
        doc.extensions = try f.list("Extensions").map(decodeDefinition)
        return doc
    }
}
