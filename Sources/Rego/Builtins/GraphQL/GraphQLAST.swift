import Foundation

/// The GraphQL document model of OPA's parser (gqlparser), with the same field names, so that
/// `graphql.parse_query`/`parse_schema` return the objects OPA returns and the builtins accept
/// such objects back (see `GraphQLRego`). Positions are kept for error messages only.
struct GQLPosition: Equatable {
    var line: Int
    var column: Int
    static let none = GQLPosition(line: 0, column: 0)
}

/// Value kinds, numbered as gqlparser's `ValueKind` (the number is what OPA's AST holds).
enum GQLValueKind: Int {
    case variable = 0, int, float, string, block, boolean, null, enumValue, list, object
}

final class GQLValue {
    var raw: String
    var children: [GQLChildValue]
    var kind: GQLValueKind
    var position: GQLPosition
    init(raw: String, children: [GQLChildValue] = [], kind: GQLValueKind, position: GQLPosition) {
        self.raw = raw
        self.children = children
        self.kind = kind
        self.position = position
    }

    /// gqlparser's `Value.String()`, used in validation messages.
    var description: String {
        switch kind {
        case .variable: return "$" + raw
        case .int, .float, .enumValue, .boolean, .null: return raw
        case .string, .block: return GraphQLLexer.goQuote(raw)
        case .list: return "[" + children.map { $0.value?.description ?? "<nil>" }.joined(separator: ", ") + "]"
        case .object:
            return "{" + children.map { "\($0.name): \($0.value?.description ?? "<nil>")" }.joined(separator: ", ")
                + "}"
        }
    }
}

struct GQLChildValue {
    var name: String
    var value: GQLValue?
    var position: GQLPosition
}

final class GQLType {
    var namedType: String
    var elem: GQLType?
    var nonNull: Bool
    var position: GQLPosition
    init(namedType: String, elem: GQLType? = nil, nonNull: Bool = false, position: GQLPosition = .none) {
        self.namedType = namedType
        self.elem = elem
        self.nonNull = nonNull
        self.position = position
    }

    /// The innermost named type.
    var name: String { namedType.isEmpty ? (elem?.name ?? "") : namedType }

    var description: String {
        let bang = nonNull ? "!" : ""
        if let e = elem { return "[\(e.description)]\(bang)" }
        return namedType + bang
    }

    /// gqlparser's `Type.IsCompatible`: may a value of type `other` be used where `self` is declared?
    func isCompatible(_ other: GQLType) -> Bool {
        if namedType != other.namedType { return false }
        if elem != nil && other.elem == nil { return false }
        if let e = elem, let o = other.elem, !e.isCompatible(o) { return false }
        if other.nonNull { return nonNull }
        return true
    }

    func copy() -> GQLType { GQLType(namedType: namedType, elem: elem, nonNull: nonNull, position: position) }
}

struct GQLArgument {
    var name: String
    var value: GQLValue?
    var position: GQLPosition
}

struct GQLDirective {
    var name: String
    var arguments: [GQLArgument]
    var position: GQLPosition
}

struct GQLVariableDefinition {
    var variable: String
    var type: GQLType?
    var defaultValue: GQLValue?
    var directives: [GQLDirective]
    var position: GQLPosition
}

indirect enum GQLSelection {
    case field(GQLField)
    case fragmentSpread(GQLFragmentSpread)
    case inlineFragment(GQLInlineFragment)
}

struct GQLField {
    var alias: String
    var name: String
    var arguments: [GQLArgument]
    var directives: [GQLDirective]
    var selectionSet: [GQLSelection]
    var position: GQLPosition
}

struct GQLFragmentSpread {
    var name: String
    var directives: [GQLDirective]
    var position: GQLPosition
}

struct GQLInlineFragment {
    var typeCondition: String
    var directives: [GQLDirective]
    var selectionSet: [GQLSelection]
    var position: GQLPosition
}

struct GQLOperation {
    var operation: String  // "query", "mutation", "subscription"
    var name: String
    var variableDefinitions: [GQLVariableDefinition]
    var directives: [GQLDirective]
    var selectionSet: [GQLSelection]
    var position: GQLPosition
}

struct GQLFragmentDefinition {
    var name: String
    var variableDefinitions: [GQLVariableDefinition]
    var typeCondition: String
    var directives: [GQLDirective]
    var selectionSet: [GQLSelection]
    var position: GQLPosition
}

struct GQLQueryDocument {
    var operations: [GQLOperation] = []
    var fragments: [GQLFragmentDefinition] = []
}

// MARK: schema documents

final class GQLArgumentDefinition {
    var description: String
    var name: String
    var defaultValue: GQLValue?
    var type: GQLType?
    var directives: [GQLDirective]
    var position: GQLPosition
    init(
        description: String, name: String, defaultValue: GQLValue?, type: GQLType?, directives: [GQLDirective],
        position: GQLPosition
    ) {
        self.description = description
        self.name = name
        self.defaultValue = defaultValue
        self.type = type
        self.directives = directives
        self.position = position
    }
}

/// A field of an object or interface, or an input field of an input object.
final class GQLFieldDefinition {
    var description: String
    var name: String
    var arguments: [GQLArgumentDefinition]
    var defaultValue: GQLValue?
    var type: GQLType?
    var directives: [GQLDirective]
    var position: GQLPosition
    init(
        description: String, name: String, arguments: [GQLArgumentDefinition], defaultValue: GQLValue?, type: GQLType?,
        directives: [GQLDirective], position: GQLPosition
    ) {
        self.description = description
        self.name = name
        self.arguments = arguments
        self.defaultValue = defaultValue
        self.type = type
        self.directives = directives
        self.position = position
    }
}

struct GQLEnumValueDefinition {
    var description: String
    var name: String
    var directives: [GQLDirective]
    var position: GQLPosition
}

/// Kinds as gqlparser spells them (`OBJECT`, `INPUT_OBJECT`, …).
enum GQLDefinitionKind: String {
    case scalar = "SCALAR", object = "OBJECT", interface = "INTERFACE", union = "UNION", enumType = "ENUM",
        inputObject = "INPUT_OBJECT"
}

final class GQLDefinition {
    var kind: String  // a GQLDefinitionKind raw value, or whatever an AST object said
    var description: String
    var name: String
    var directives: [GQLDirective]
    var interfaces: [String]
    var fields: [GQLFieldDefinition]
    var types: [String]
    var enumValues: [GQLEnumValueDefinition]
    var position: GQLPosition
    var builtIn: Bool
    init(
        kind: String, description: String = "", name: String, directives: [GQLDirective] = [],
        interfaces: [String] = [],
        fields: [GQLFieldDefinition] = [], types: [String] = [], enumValues: [GQLEnumValueDefinition] = [],
        position: GQLPosition = .none, builtIn: Bool = false
    ) {
        self.kind = kind
        self.description = description
        self.name = name
        self.directives = directives
        self.interfaces = interfaces
        self.fields = fields
        self.types = types
        self.enumValues = enumValues
        self.position = position
        self.builtIn = builtIn
    }

    func field(_ name: String) -> GQLFieldDefinition? { fields.first { $0.name == name } }
    var isInputType: Bool { kind == "SCALAR" || kind == "ENUM" || kind == "INPUT_OBJECT" }
    var isLeafType: Bool { kind == "SCALAR" || kind == "ENUM" }
    var isCompositeType: Bool { kind == "OBJECT" || kind == "INTERFACE" || kind == "UNION" }
    var isAbstractType: Bool { kind == "INTERFACE" || kind == "UNION" }
}

struct GQLOperationTypeDefinition {
    var operation: String
    var type: String
    var position: GQLPosition
}

struct GQLSchemaDefinition {
    var description: String
    var directives: [GQLDirective]
    var operationTypes: [GQLOperationTypeDefinition]
    var position: GQLPosition
}

final class GQLDirectiveDefinition {
    var description: String
    var name: String
    var arguments: [GQLArgumentDefinition]
    var locations: [String]
    var isRepeatable: Bool
    var position: GQLPosition
    init(
        description: String, name: String, arguments: [GQLArgumentDefinition], locations: [String], isRepeatable: Bool,
        position: GQLPosition
    ) {
        self.description = description
        self.name = name
        self.arguments = arguments
        self.locations = locations
        self.isRepeatable = isRepeatable
        self.position = position
    }
}

struct GQLSchemaDocument {
    var schema: [GQLSchemaDefinition] = []
    var schemaExtension: [GQLSchemaDefinition] = []
    var directives: [GQLDirectiveDefinition] = []
    var definitions: [GQLDefinition] = []
    var extensions: [GQLDefinition] = []

    mutating func merge(_ other: GQLSchemaDocument) {
        schema += other.schema
        schemaExtension += other.schemaExtension
        directives += other.directives
        definitions += other.definitions
        extensions += other.extensions
    }
}
