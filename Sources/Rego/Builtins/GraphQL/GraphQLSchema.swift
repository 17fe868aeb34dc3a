import Foundation

/// A validated GraphQL schema: the user's schema document merged after the built-in prelude
/// (scalars, `@include @skip @deprecated @specifiedBy`, introspection types), checked with the
/// rules and messages of OPA's schema validator (gqlparser's `ValidateSchemaDocument`).
final class GraphQLSchema {
    var types: [String: GQLDefinition] = [:]
    var directives: [String: GQLDirectiveDefinition] = [:]
    var possibleTypes: [String: [GQLDefinition]] = [:]
    var query: GQLDefinition?
    var mutation: GQLDefinition?
    var subscription: GQLDefinition?

    /// The built-in definitions of the gqlparser version OPA embeds (probed with OPA's
    /// evaluator: `@defer`, `@oneOf`, `specifiedByURL`, `isOneOf`, deprecated input values).
    /// Descriptions are left out: they take no part in validation.
    static let prelude = """
        scalar Int
        scalar Float
        scalar String
        scalar Boolean
        scalar ID
        directive @include(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
        directive @skip(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
        directive @deprecated(reason: String = "No longer supported") on FIELD_DEFINITION | ARGUMENT_DEFINITION | \
        INPUT_FIELD_DEFINITION | ENUM_VALUE
        directive @specifiedBy(url: String!) on SCALAR
        directive @defer(if: Boolean = true, label: String) on FRAGMENT_SPREAD | INLINE_FRAGMENT
        directive @oneOf on INPUT_OBJECT
        type __Schema {
          description: String
          types: [__Type!]!
          queryType: __Type!
          mutationType: __Type
          subscriptionType: __Type
          directives: [__Directive!]!
        }
        type __Type {
          kind: __TypeKind!
          name: String
          description: String
          specifiedByURL: String
          fields(includeDeprecated: Boolean = false): [__Field!]
          interfaces: [__Type!]
          possibleTypes: [__Type!]
          enumValues(includeDeprecated: Boolean = false): [__EnumValue!]
          inputFields(includeDeprecated: Boolean = false): [__InputValue!]
          ofType: __Type
          isOneOf: Boolean
        }
        type __Field {
          name: String!
          description: String
          args(includeDeprecated: Boolean = false): [__InputValue!]!
          type: __Type!
          isDeprecated: Boolean!
          deprecationReason: String
        }
        type __InputValue {
          name: String!
          description: String
          type: __Type!
          defaultValue: String
          isDeprecated: Boolean!
          deprecationReason: String
        }
        type __EnumValue {
          name: String!
          description: String
          isDeprecated: Boolean!
          deprecationReason: String
        }
        enum __TypeKind { SCALAR OBJECT INTERFACE UNION ENUM INPUT_OBJECT LIST NON_NULL }
        type __Directive {
          name: String!
          description: String
          locations: [__DirectiveLocation!]!
          args(includeDeprecated: Boolean = false): [__InputValue!]!
          isRepeatable: Boolean!
        }
        enum __DirectiveLocation {
          QUERY MUTATION SUBSCRIPTION FIELD FRAGMENT_DEFINITION FRAGMENT_SPREAD INLINE_FRAGMENT VARIABLE_DEFINITION
          SCHEMA SCALAR OBJECT FIELD_DEFINITION ARGUMENT_DEFINITION INTERFACE UNION ENUM ENUM_VALUE INPUT_OBJECT
          INPUT_FIELD_DEFINITION
        }
        """

    private static func fail(_ pos: GQLPosition, _ message: String) -> GraphQLError {
        GraphQLError(message: message, line: pos.line, column: pos.column)
    }

    /// Builds and validates the schema of `document` (which this mutates: extensions are merged
    /// into their types). The prelude is parsed anew each time, since validation mutates it too.
    static func build(_ document: GQLSchemaDocument) throws -> GraphQLSchema {
        var ast = try GraphQLParser.parseSchema(prelude, builtIn: true)
        ast.merge(document)
        let schema = GraphQLSchema()

        for def in ast.definitions {
            if schema.types[def.name] != nil { throw fail(def.position, "Cannot redeclare type \(def.name).") }
            schema.types[def.name] = def
        }
        var defs = ast.definitions
        for ext in ast.extensions {
            var def = schema.types[ext.name]
            if def == nil {
                let created = GQLDefinition(kind: ext.kind, name: ext.name, position: ext.position)
                schema.types[ext.name] = created
                defs.append(created)
                def = created
            }
            guard let d = def else { continue }
            if d.kind != ext.kind {
                throw fail(
                    ext.position,
                    "Cannot extend type \(ext.name) because the base type is a \(d.kind), not \(ext.kind).")
            }
            d.directives += ext.directives
            d.interfaces += ext.interfaces
            d.fields += ext.fields
            d.types += ext.types
            d.enumValues += ext.enumValues
        }
        for def in defs {
            switch def.kind {
            case "UNION":
                for t in def.types { schema.addPossibleType(def.name, schema.types[t]) }
            case "INPUT_OBJECT", "OBJECT":
                for i in def.interfaces { schema.addPossibleType(i, def) }
                schema.addPossibleType(def.name, def)
            case "INTERFACE":
                for i in def.interfaces { schema.addPossibleType(i, def) }
            default: break
            }
        }
        for dir in ast.directives {
            if schema.directives[dir.name] != nil {
                switch dir.name {
                case "include", "skip", "deprecated", "specifiedBy", "defer", "oneOf": break
                default: throw fail(dir.position, "Cannot redeclare directive \(dir.name).")
                }
            }
            schema.directives[dir.name] = dir
        }
        if ast.schema.count > 1 {
            throw fail(
                ast.schema[1].position, "Cannot have multiple schema entry points, consider schema extensions instead.")
        }
        for entry in (ast.schema.first.map { [$0] } ?? []) + ast.schemaExtension {
            for op in entry.operationTypes {
                guard let def = schema.types[op.type] else {
                    throw fail(
                        op.position, "Schema root \(op.operation) refers to a type \(op.type) that does not exist.")
                }
                switch op.operation {
                case "query": schema.query = def
                case "mutation": schema.mutation = def
                case "subscription": schema.subscription = def
                default: break
                }
            }
        }
        for name in schema.types.keys.sorted() {
            try schema.validateDefinition(schema.types[name]!)
        }
        for name in schema.directives.keys.sorted() {
            let dir = schema.directives[name]!
            try validateName(dir.position, dir.name)
            try schema.validateArgs(dir.arguments, dir)
        }
        if ast.schema.isEmpty {
            if schema.query == nil { schema.query = schema.types["Query"] }
            if schema.mutation == nil { schema.mutation = schema.types["Mutation"] }
            if schema.subscription == nil { schema.subscription = schema.types["Subscription"] }
        }
        if let q = schema.query {
            q.fields.append(
                GQLFieldDefinition(
                    description: "", name: "__schema", arguments: [], defaultValue: nil,
                    type: GQLType(namedType: "__Schema", nonNull: true), directives: [], position: .none))
            let nameArg = GQLArgumentDefinition(
                description: "", name: "name", defaultValue: nil,
                type: GQLType(namedType: "String", nonNull: true), directives: [], position: .none)
            q.fields.append(
                GQLFieldDefinition(
                    description: "", name: "__type", arguments: [nameArg], defaultValue: nil,
                    type: GQLType(namedType: "__Type"), directives: [], position: .none))
        }
        return schema
    }

    private func addPossibleType(_ name: String, _ def: GQLDefinition?) {
        guard let def else { return }
        possibleTypes[name, default: []].append(def)
    }

    /// Object types a value of `def` may have at run time.
    func possibleTypes(of def: GQLDefinition) -> [GQLDefinition] {
        switch def.kind {
        case "OBJECT": return [def]
        case "INTERFACE", "UNION": return possibleTypes[def.name] ?? []
        default: return []
        }
    }

    static func validateName(_ pos: GQLPosition, _ name: String) throws {
        if name.hasPrefix("__") {
            throw fail(pos, "Name \"\(name)\" must not begin with \"__\", which is reserved by GraphQL introspection.")
        }
    }

    private func requireType(_ t: GQLType?, _ pos: GQLPosition) throws -> GQLType {
        guard let t else { throw Self.fail(pos, "missing type") }
        return t
    }

    private func validateTypeRef(_ t: GQLType) throws {
        if types[t.name] == nil { throw Self.fail(t.position, "Undefined type \(t.name).") }
    }

    private func validateArgs(_ args: [GQLArgumentDefinition], _ current: GQLDirectiveDefinition?) throws {
        for arg in args {
            try Self.validateName(arg.position, arg.name)
            let t = try requireType(arg.type, arg.position)
            try validateTypeRef(t)
            let def = types[t.name]!
            if !def.isInputType {
                throw Self.fail(
                    arg.position,
                    "cannot use \(t.description) as argument \(arg.name) because \(def.kind) is not a valid input type")
            }
            try validateDirectives(arg.directives, "ARGUMENT_DEFINITION", current)
        }
    }

    private func validateDirectives(_ dirs: [GQLDirective], _ location: String, _ current: GQLDirectiveDefinition?)
        throws
    {
        for dir in dirs {
            try Self.validateName(dir.position, dir.name)
            if let c = current, dir.name == c.name {
                throw Self.fail(dir.position, "Directive \(c.name) cannot refer to itself.")
            }
            guard let def = directives[dir.name] else {
                throw Self.fail(dir.position, "Undefined directive \(dir.name).")
            }
            if !def.locations.contains(location) {
                throw Self.fail(dir.position, "Directive \(dir.name) is not applicable on \(location).")
            }
        }
    }

    private static let kindsOfFields = ["SCALAR", "OBJECT", "INTERFACE", "UNION", "ENUM"]
    private static let kindsOfInputFields = ["SCALAR", "ENUM", "INPUT_OBJECT"]

    private func validateDefinition(_ def: GQLDefinition) throws {
        for field in def.fields {
            try Self.validateName(field.position, field.name)
            try validateTypeRef(try requireType(field.type, field.position))
            try validateArgs(field.arguments, nil)
            try validateDirectives(
                field.directives, def.kind == "INPUT_OBJECT" ? "INPUT_FIELD_DEFINITION" : "FIELD_DEFINITION", nil)
        }
        for t in def.types {
            guard let td = types[t] else { throw Self.fail(def.position, "Undefined type \(GraphQLLexer.goQuote(t)).") }
            if td.kind != "OBJECT" {
                throw Self.fail(def.position, "\(def.kind) type \(GraphQLLexer.goQuote(t)) must be OBJECT.")
            }
        }
        for i in def.interfaces { try validateImplements(def, i) }
        switch def.kind {
        case "OBJECT", "INTERFACE":
            if def.fields.isEmpty {
                throw Self.fail(def.position, "\(def.kind) \(def.name): must define one or more fields.")
            }
            for field in def.fields {
                if let t = types[field.type!.name], !Self.kindsOfFields.contains(t.kind) {
                    throw Self.fail(
                        field.position,
                        "\(def.kind) \(def.name): field must be one of \(Self.kindsOfFields.joined(separator: ", ")).")
                }
            }
        case "ENUM":
            if def.enumValues.isEmpty {
                throw Self.fail(def.position, "\(def.kind) \(def.name): must define one or more unique enum values.")
            }
            for v in def.enumValues where ["true", "false", "null"].contains(v.name) {
                throw Self.fail(def.position, "\(def.kind) \(def.name): non-enum value \(v.name).")
            }
        case "INPUT_OBJECT":
            if def.fields.isEmpty {
                throw Self.fail(def.position, "\(def.kind) \(def.name): must define one or more input fields.")
            }
            for field in def.fields {
                if let t = types[field.type!.name], !Self.kindsOfInputFields.contains(t.kind) {
                    throw Self.fail(
                        field.position,
                        """
                        \(t.kind) \(field.name): field must be one of \
                        \(Self.kindsOfInputFields.joined(separator: ", ")).
                        """
                    )
                }
            }
        default: break
        }
        for (i, f1) in def.fields.enumerated() {
            for f2 in def.fields[(i + 1)...] where f1.name == f2.name {
                throw Self.fail(f2.position, "Field \(def.name).\(f2.name) can only be defined once.")
            }
        }
        if !def.builtIn { try Self.validateName(def.position, def.name) }
        try validateDirectives(def.directives, def.kind, nil)
    }

    private func validateImplements(_ def: GQLDefinition, _ intfName: String) throws {
        guard let intf = types[intfName] else {
            throw Self.fail(def.position, "Undefined type \(GraphQLLexer.goQuote(intfName)).")
        }
        if intf.kind != "INTERFACE" {
            throw Self.fail(def.position, "\(GraphQLLexer.goQuote(intfName)) is a non interface type \(intf.kind).")
        }
        for required in intf.fields {
            guard let found = def.field(required.name) else {
                throw Self.fail(
                    def.position,
                    "For \(def.name) to implement \(intf.name) it must have a field called \(required.name).")
            }
            let rt = try requireType(required.type, required.position), ft = try requireType(found.type, found.position)
            if !isCovariant(rt, ft) {
                throw Self.fail(
                    found.position,
                    """
                    For \(def.name) to implement \(intf.name) the field \(required.name) must have type \
                    \(rt.description).
                    """
                )
            }
            for ra in required.arguments {
                guard let fa = found.arguments.first(where: { $0.name == ra.name }) else {
                    throw Self.fail(
                        found.position,
                        """
                        For \(def.name) to implement \(intf.name) the field \(required.name) must have the same \
                        arguments but it is missing \(ra.name).
                        """
                    )
                }
                if let rat = ra.type, let fat = fa.type, !rat.isCompatible(fat) {
                    throw Self.fail(
                        fa.position,
                        """
                        For \(def.name) to implement \(intf.name) the field \(required.name) must have the same \
                        arguments but \(ra.name) has the wrong type.
                        """
                    )
                }
            }
            for fa in found.arguments
            where !required.arguments.contains(where: { $0.name == fa.name }) && (fa.type?.nonNull ?? false)
                && fa.defaultValue == nil
            {
                throw Self.fail(
                    fa.position,
                    """
                    For \(def.name) to implement \(intf.name) any additional arguments on \(found.name) must be \
                    optional or have a default value but \(fa.name) is required.
                    """
                )
            }
        }
        for transitive in intf.interfaces where !def.interfaces.contains(transitive) {
            if transitive == def.name {
                throw Self.fail(
                    def.position,
                    "Type \(def.name) cannot implement \(intfName) because it would create a circular reference.")
            }
            throw Self.fail(
                def.position, "Type \(def.name) must implement \(transitive) because it is implemented by \(intfName).")
        }
    }

    private func isCovariant(_ required: GQLType, _ actual: GQLType) -> Bool {
        if required.nonNull && !actual.nonNull { return false }
        if !required.namedType.isEmpty {
            if required.namedType == actual.namedType { return true }
            return (possibleTypes[required.namedType] ?? []).contains { $0.name == actual.namedType }
        }
        guard let re = required.elem, let ae = actual.elem else { return required.elem == nil }
        return isCovariant(re, ae)
    }
}
