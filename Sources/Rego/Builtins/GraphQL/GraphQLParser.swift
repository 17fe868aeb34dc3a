import Foundation

/// A recursive-descent parser for GraphQL query and schema documents (the October 2021 spec,
/// plus fragment variables), written to give the documents and the first error that OPA's
/// parser (gqlparser) gives: same messages, same positions, same recovery (none: the first
/// error ends the parse). Nesting is bounded (`maxDepth`), so hostile input cannot exhaust
/// the stack.
struct GraphQLParser {
    static let maxDepth = 256

    private var lexer: GraphQLLexer
    private var err: GraphQLError?
    private var peeked = false
    private var peekToken = GraphQLToken(kind: .eof, value: "", line: 1, column: 1)
    private var peekError: GraphQLError?
    private var prev = GraphQLToken(kind: .eof, value: "", line: 1, column: 1)
    private var depth = 0

    init(_ source: String) { lexer = GraphQLLexer(source) }

    static func parseQuery(_ source: String) throws -> GQLQueryDocument {
        var p = GraphQLParser(source)
        let doc = p.parseQueryDocument()
        if let e = p.err { throw e }
        return doc
    }

    static func parseSchema(_ source: String, builtIn: Bool = false) throws -> GQLSchemaDocument {
        var p = GraphQLParser(source)
        let doc = p.parseSchemaDocument()
        if let e = p.err { throw e }
        for d in doc.definitions { d.builtIn = builtIn }
        for d in doc.extensions { d.builtIn = builtIn }
        return doc
    }

    // MARK: token handling (gqlparser's: a lexical error surfaces when its token is consumed)

    private mutating func peek() -> GraphQLToken {
        if err != nil { return prev }
        if !peeked {
            (peekToken, peekError) = lexer.next()
            peeked = true
        }
        return peekToken
    }

    private mutating func peekPos() -> GQLPosition {
        let t = peek()
        return GQLPosition(line: t.line, column: t.column)
    }

    private mutating func error(_ tok: GraphQLToken, _ message: String) {
        if err != nil { return }
        err = GraphQLError(message: message, line: tok.line, column: tok.column)
    }

    @discardableResult
    private mutating func next() -> GraphQLToken {
        if err != nil { return prev }
        if peeked {
            peeked = false
            prev = peekToken
            err = peekError
        } else {
            let (t, e) = lexer.next()
            prev = t
            err = e
        }
        return prev
    }

    @discardableResult
    private mutating func expectKeyword(_ value: String) -> GraphQLToken {
        let tok = peek()
        if tok.kind == .name && tok.value == value { return next() }
        error(tok, "Expected \(GraphQLLexer.goQuote(value)), found \(tok.description)")
        return tok
    }

    @discardableResult
    private mutating func expect(_ kind: GraphQLTokenKind) -> GraphQLToken {
        let tok = peek()
        if tok.kind == kind { return next() }
        error(tok, "Expected \(kind.description), found \(tok.kind.description)")
        return tok
    }

    private mutating func skip(_ kind: GraphQLTokenKind) -> Bool {
        if err != nil { return false }
        if peek().kind != kind { return false }
        next()
        return true
    }

    private mutating func unexpectedError() { unexpectedToken(peek()) }

    private mutating func unexpectedToken(_ tok: GraphQLToken) {
        error(tok, "Unexpected \(tok.description)")
    }

    /// Guards recursion: past `maxDepth` nested values, types or selection sets the parse fails.
    private mutating func enter() -> Bool {
        depth += 1
        if depth > Self.maxDepth {
            error(peek(), "document nested deeper than \(Self.maxDepth) levels")
            return false
        }
        return true
    }
    private mutating func leave() { depth -= 1 }

    /// `start item* end`, possibly empty; nothing when `start` is absent.
    private mutating func many(
        _ start: GraphQLTokenKind, _ end: GraphQLTokenKind, _ item: (inout GraphQLParser) -> Void
    ) {
        guard skip(start) else { return }
        while peek().kind != end && err == nil { item(&self) }
        next()
    }

    /// `start item+ end`; nothing when `start` is absent.
    private mutating func some(
        _ start: GraphQLTokenKind, _ end: GraphQLTokenKind, _ item: (inout GraphQLParser) -> Void
    ) {
        guard skip(start) else { return }
        var called = false
        while peek().kind != end && err == nil {
            called = true
            item(&self)
        }
        if !called {
            error(peek(), "expected at least one definition, found \(peek().kind.description)")
            return
        }
        next()
    }

    // MARK: query documents

    mutating func parseQueryDocument() -> GQLQueryDocument {
        var doc = GQLQueryDocument()
        while peek().kind != .eof {
            if err != nil { return doc }
            switch peek().kind {
            case .name:
                switch peek().value {
                case "query", "mutation", "subscription": doc.operations.append(parseOperationDefinition())
                case "fragment": doc.fragments.append(parseFragmentDefinition())
                default: unexpectedError()
                }
            case .braceL:
                doc.operations.append(parseOperationDefinition())
            default:
                unexpectedError()
            }
        }
        return doc
    }

    private mutating func parseOperationDefinition() -> GQLOperation {
        if peek().kind == .braceL {
            let pos = peekPos()
            return GQLOperation(
                operation: "query", name: "", variableDefinitions: [], directives: [],
                selectionSet: parseRequiredSelectionSet(), position: pos)
        }
        let pos = peekPos()
        let op = parseOperationType()
        var name = ""
        if peek().kind == .name { name = next().value }
        let vars = parseVariableDefinitions()
        let dirs = parseDirectives(false)
        let sel = parseRequiredSelectionSet()
        return GQLOperation(
            operation: op, name: name, variableDefinitions: vars, directives: dirs, selectionSet: sel, position: pos)
    }

    private mutating func parseOperationType() -> String {
        let tok = next()
        switch tok.value {
        case "query", "mutation", "subscription": return tok.value
        default:
            unexpectedToken(tok)
            return ""
        }
    }

    private mutating func parseVariableDefinitions() -> [GQLVariableDefinition] {
        var defs: [GQLVariableDefinition] = []
        many(.parenL, .parenR) { p in defs.append(p.parseVariableDefinition()) }
        return defs
    }

    private mutating func parseVariableDefinition() -> GQLVariableDefinition {
        let pos = peekPos()
        let variable = parseVariable()
        expect(.colon)
        let type = parseTypeReference()
        var def: GQLValue? = nil
        if skip(.equals) { def = parseValueLiteral(true) }
        let dirs = parseDirectives(false)
        return GQLVariableDefinition(variable: variable, type: type, defaultValue: def, directives: dirs, position: pos)
    }

    private mutating func parseVariable() -> String {
        expect(.dollar)
        return parseName()
    }

    private mutating func parseOptionalSelectionSet() -> [GQLSelection] {
        var sels: [GQLSelection] = []
        guard enter() else { return sels }
        defer { leave() }
        some(.braceL, .braceR) { p in if let s = p.parseSelection() { sels.append(s) } }
        return sels
    }

    private mutating func parseRequiredSelectionSet() -> [GQLSelection] {
        if peek().kind != .braceL {
            error(peek(), "Expected \(GraphQLTokenKind.braceL.description), found \(peek().kind.description)")
            return []
        }
        return parseOptionalSelectionSet()
    }

    private mutating func parseSelection() -> GQLSelection? {
        if peek().kind == .spread { return parseFragment() }
        return .field(parseField())
    }

    private mutating func parseField() -> GQLField {
        let pos = peekPos()
        let alias = parseName()
        var name = alias
        if skip(.colon) { name = parseName() }
        let args = parseArguments(false)
        let dirs = parseDirectives(false)
        var sel: [GQLSelection] = []
        if peek().kind == .braceL { sel = parseOptionalSelectionSet() }
        return GQLField(alias: alias, name: name, arguments: args, directives: dirs, selectionSet: sel, position: pos)
    }

    private mutating func parseArguments(_ isConst: Bool) -> [GQLArgument] {
        var args: [GQLArgument] = []
        many(.parenL, .parenR) { p in args.append(p.parseArgument(isConst)) }
        return args
    }

    private mutating func parseArgument(_ isConst: Bool) -> GQLArgument {
        let pos = peekPos()
        let name = parseName()
        expect(.colon)
        return GQLArgument(name: name, value: parseValueLiteral(isConst), position: pos)
    }

    private mutating func parseFragment() -> GQLSelection? {
        expect(.spread)
        let peekTok = peek()
        if peekTok.kind == .name && peekTok.value != "on" {
            let pos = peekPos()
            let name = parseFragmentName()
            return .fragmentSpread(GQLFragmentSpread(name: name, directives: parseDirectives(false), position: pos))
        }
        let pos = peekPos()
        var typeCondition = ""
        if peek().value == "on" {
            next()
            typeCondition = parseName()
        }
        let dirs = parseDirectives(false)
        let sel = parseRequiredSelectionSet()
        return .inlineFragment(
            GQLInlineFragment(typeCondition: typeCondition, directives: dirs, selectionSet: sel, position: pos))
    }

    private mutating func parseFragmentDefinition() -> GQLFragmentDefinition {
        let pos = peekPos()
        expectKeyword("fragment")
        let name = parseFragmentName()
        let vars = parseVariableDefinitions()
        expectKeyword("on")
        let typeCondition = parseName()
        let dirs = parseDirectives(false)
        let sel = parseRequiredSelectionSet()
        return GQLFragmentDefinition(
            name: name, variableDefinitions: vars, typeCondition: typeCondition, directives: dirs, selectionSet: sel,
            position: pos)
    }

    private mutating func parseFragmentName() -> String {
        if peek().value == "on" {
            unexpectedError()
            return ""
        }
        return parseName()
    }

    private mutating func parseValueLiteral(_ isConst: Bool) -> GQLValue? {
        let token = peek()
        let pos = GQLPosition(line: token.line, column: token.column)
        let kind: GQLValueKind
        switch token.kind {
        case .bracketL, .braceL:
            guard enter() else { return nil }
            defer { leave() }
            var children: [GQLChildValue] = []
            if token.kind == .bracketL {
                many(.bracketL, .bracketR) { p in
                    children.append(GQLChildValue(name: "", value: p.parseValueLiteral(isConst), position: .none))
                }
                return GQLValue(raw: "", children: children, kind: .list, position: pos)
            }
            many(.braceL, .braceR) { p in
                let fpos = p.peekPos()
                let name = p.parseName()
                p.expect(.colon)
                children.append(GQLChildValue(name: name, value: p.parseValueLiteral(isConst), position: fpos))
            }
            return GQLValue(raw: "", children: children, kind: .object, position: pos)
        case .dollar:
            if isConst {
                unexpectedError()
                return nil
            }
            return GQLValue(raw: parseVariable(), kind: .variable, position: pos)
        case .int: kind = .int
        case .float: kind = .float
        case .string: kind = .string
        case .blockString: kind = .block
        case .name:
            switch token.value {
            case "true", "false": kind = .boolean
            case "null": kind = .null
            default: kind = .enumValue
            }
        default:
            unexpectedError()
            return nil
        }
        next()
        return GQLValue(raw: token.value, kind: kind, position: pos)
    }

    private mutating func parseDirectives(_ isConst: Bool) -> [GQLDirective] {
        var dirs: [GQLDirective] = []
        while peek().kind == .at {
            if err != nil { break }
            expect(.at)
            let pos = peekPos()
            let name = parseName()
            dirs.append(GQLDirective(name: name, arguments: parseArguments(isConst), position: pos))
        }
        return dirs
    }

    private mutating func parseTypeReference() -> GQLType {
        let t = GQLType(namedType: "")
        guard enter() else { return t }
        defer { leave() }
        if skip(.bracketL) {
            t.position = peekPos()
            t.elem = parseTypeReference()
            expect(.bracketR)
        } else {
            t.position = peekPos()
            t.namedType = parseName()
        }
        if skip(.bang) {
            t.position = peekPos()
            t.nonNull = true
        }
        return t
    }

    private mutating func parseName() -> String { expect(.name).value }

    // MARK: schema documents

    mutating func parseSchemaDocument() -> GQLSchemaDocument {
        var doc = GQLSchemaDocument()
        while peek().kind != .eof {
            if err != nil { return doc }
            var description = ""
            if peek().kind == .blockString || peek().kind == .string { description = next().value }
            if peek().kind != .name {
                unexpectedError()
                break
            }
            switch peek().value {
            case "scalar", "type", "interface", "union", "enum", "input":
                doc.definitions.append(parseTypeSystemDefinition(description))
            case "schema":
                doc.schema.append(parseSchemaDefinition(description))
            case "directive":
                doc.directives.append(parseDirectiveDefinition(description))
            case "extend":
                if !description.isEmpty { unexpectedToken(prev) }
                parseTypeSystemExtension(&doc)
            default:
                unexpectedError()
                return doc
            }
        }
        return doc
    }

    private mutating func parseDescription() -> String {
        let t = peek()
        guard t.kind == .blockString || t.kind == .string else { return "" }
        return next().value
    }

    private mutating func parseTypeSystemDefinition(_ description: String) -> GQLDefinition {
        let keyword = peek().value
        expectKeyword(keyword)
        let pos = peekPos()
        let def = GQLDefinition(kind: "", description: description, name: "", position: pos)
        def.name = parseName()
        switch keyword {
        case "scalar":
            def.kind = GQLDefinitionKind.scalar.rawValue
            def.directives = parseDirectives(true)
        case "type", "interface":
            def.kind = keyword == "type" ? GQLDefinitionKind.object.rawValue : GQLDefinitionKind.interface.rawValue
            def.interfaces = parseImplementsInterfaces()
            def.directives = parseDirectives(true)
            def.fields = parseFieldsDefinition()
        case "union":
            def.kind = GQLDefinitionKind.union.rawValue
            def.directives = parseDirectives(true)
            def.types = parseUnionMemberTypes()
        case "enum":
            def.kind = GQLDefinitionKind.enumType.rawValue
            def.directives = parseDirectives(true)
            def.enumValues = parseEnumValuesDefinition()
        default:  // input
            def.kind = GQLDefinitionKind.inputObject.rawValue
            def.directives = parseDirectives(true)
            def.fields = parseInputFieldsDefinition()
        }
        return def
    }

    private mutating func parseSchemaDefinition(_ description: String) -> GQLSchemaDefinition {
        expectKeyword("schema")
        let pos = peekPos()
        let dirs = parseDirectives(true)
        var ops: [GQLOperationTypeDefinition] = []
        some(.braceL, .braceR) { p in ops.append(p.parseOperationTypeDefinition()) }
        return GQLSchemaDefinition(description: description, directives: dirs, operationTypes: ops, position: pos)
    }

    private mutating func parseOperationTypeDefinition() -> GQLOperationTypeDefinition {
        let pos = peekPos()
        let op = parseOperationType()
        expect(.colon)
        return GQLOperationTypeDefinition(operation: op, type: parseName(), position: pos)
    }

    private mutating func parseImplementsInterfaces() -> [String] {
        var types: [String] = []
        if peek().value == "implements" {
            next()
            _ = skip(.amp)
            types.append(parseName())
            while skip(.amp) && err == nil { types.append(parseName()) }
        }
        return types
    }

    private mutating func parseFieldsDefinition() -> [GQLFieldDefinition] {
        var defs: [GQLFieldDefinition] = []
        some(.braceL, .braceR) { p in defs.append(p.parseFieldDefinition()) }
        return defs
    }

    private mutating func parseFieldDefinition() -> GQLFieldDefinition {
        let pos = peekPos()
        let description = parseDescription()
        let name = parseName()
        let args = parseArgumentDefs()
        expect(.colon)
        let type = parseTypeReference()
        let dirs = parseDirectives(true)
        return GQLFieldDefinition(
            description: description, name: name, arguments: args, defaultValue: nil, type: type, directives: dirs,
            position: pos)
    }

    private mutating func parseArgumentDefs() -> [GQLArgumentDefinition] {
        var args: [GQLArgumentDefinition] = []
        some(.parenL, .parenR) { p in
            let pos = p.peekPos()
            let description = p.parseDescription()
            let name = p.parseName()
            p.expect(.colon)
            let type = p.parseTypeReference()
            var def: GQLValue? = nil
            if p.skip(.equals) { def = p.parseValueLiteral(true) }
            let dirs = p.parseDirectives(true)
            args.append(
                GQLArgumentDefinition(
                    description: description, name: name, defaultValue: def, type: type, directives: dirs, position: pos
                ))
        }
        return args
    }

    private mutating func parseInputValueDef() -> GQLFieldDefinition {
        let pos = peekPos()
        let description = parseDescription()
        let name = parseName()
        expect(.colon)
        let type = parseTypeReference()
        var def: GQLValue? = nil
        if skip(.equals) { def = parseValueLiteral(true) }
        let dirs = parseDirectives(true)
        return GQLFieldDefinition(
            description: description, name: name, arguments: [], defaultValue: def, type: type, directives: dirs,
            position: pos)
    }

    private mutating func parseUnionMemberTypes() -> [String] {
        var types: [String] = []
        if skip(.equals) {
            _ = skip(.pipe)
            types.append(parseName())
            while skip(.pipe) && err == nil { types.append(parseName()) }
        }
        return types
    }

    private mutating func parseEnumValuesDefinition() -> [GQLEnumValueDefinition] {
        var values: [GQLEnumValueDefinition] = []
        some(.braceL, .braceR) { p in
            let pos = p.peekPos()
            let description = p.parseDescription()
            let name = p.parseName()
            values.append(
                GQLEnumValueDefinition(
                    description: description, name: name, directives: p.parseDirectives(true), position: pos))
        }
        return values
    }

    private mutating func parseInputFieldsDefinition() -> [GQLFieldDefinition] {
        var values: [GQLFieldDefinition] = []
        some(.braceL, .braceR) { p in values.append(p.parseInputValueDef()) }
        return values
    }

    private mutating func parseTypeSystemExtension(_ doc: inout GQLSchemaDocument) {
        expectKeyword("extend")
        let keyword = peek().value
        switch keyword {
        case "schema":
            expectKeyword("schema")
            let pos = peekPos()
            let dirs = parseDirectives(true)
            var ops: [GQLOperationTypeDefinition] = []
            some(.braceL, .braceR) { p in ops.append(p.parseOperationTypeDefinition()) }
            if dirs.isEmpty && ops.isEmpty { unexpectedError() }
            doc.schemaExtension.append(
                GQLSchemaDefinition(description: "", directives: dirs, operationTypes: ops, position: pos))
        case "scalar", "type", "interface", "union", "enum", "input":
            expectKeyword(keyword)
            let pos = peekPos()
            let def = GQLDefinition(kind: "", name: "", position: pos)
            def.name = parseName()
            var empty = false
            switch keyword {
            case "scalar":
                def.kind = GQLDefinitionKind.scalar.rawValue
                def.directives = parseDirectives(true)
                empty = def.directives.isEmpty
            case "type":
                def.kind = GQLDefinitionKind.object.rawValue
                def.interfaces = parseImplementsInterfaces()
                def.directives = parseDirectives(true)
                def.fields = parseFieldsDefinition()
                empty = def.interfaces.isEmpty && def.directives.isEmpty && def.fields.isEmpty
            case "interface":
                def.kind = GQLDefinitionKind.interface.rawValue
                def.directives = parseDirectives(true)
                def.fields = parseFieldsDefinition()
                empty = def.directives.isEmpty && def.fields.isEmpty
            case "union":
                def.kind = GQLDefinitionKind.union.rawValue
                def.directives = parseDirectives(true)
                def.types = parseUnionMemberTypes()
                empty = def.directives.isEmpty && def.types.isEmpty
            case "enum":
                def.kind = GQLDefinitionKind.enumType.rawValue
                def.directives = parseDirectives(true)
                def.enumValues = parseEnumValuesDefinition()
                empty = def.directives.isEmpty && def.enumValues.isEmpty
            default:
                def.kind = GQLDefinitionKind.inputObject.rawValue
                def.directives = parseDirectives(false)
                def.fields = parseInputFieldsDefinition()
                empty = def.directives.isEmpty && def.fields.isEmpty
            }
            if empty { unexpectedError() }
            doc.extensions.append(def)
        default:
            unexpectedError()
        }
    }

    static let directiveLocations: Set<String> = [
        "QUERY", "MUTATION", "SUBSCRIPTION", "FIELD", "FRAGMENT_DEFINITION", "FRAGMENT_SPREAD", "INLINE_FRAGMENT",
        "VARIABLE_DEFINITION", "SCHEMA", "SCALAR", "OBJECT", "FIELD_DEFINITION", "ARGUMENT_DEFINITION", "INTERFACE",
        "UNION", "ENUM", "ENUM_VALUE", "INPUT_OBJECT", "INPUT_FIELD_DEFINITION",
    ]

    private mutating func parseDirectiveDefinition(_ description: String) -> GQLDirectiveDefinition {
        expectKeyword("directive")
        expect(.at)
        let pos = peekPos()
        let name = parseName()
        let args = parseArgumentDefs()
        var repeatable = false
        let t = peek()
        if t.kind == .name && t.value == "repeatable" {
            repeatable = true
            _ = skip(.name)
        }
        expectKeyword("on")
        _ = skip(.pipe)
        var locations = [parseDirectiveLocation()]
        while skip(.pipe) && err == nil { locations.append(parseDirectiveLocation()) }
        return GQLDirectiveDefinition(
            description: description, name: name, arguments: args, locations: locations, isRepeatable: repeatable,
            position: pos)
    }

    private mutating func parseDirectiveLocation() -> String {
        let tok = expect(.name)
        if Self.directiveLocations.contains(tok.value) { return tok.value }
        unexpectedToken(tok)
        return ""
    }
}
