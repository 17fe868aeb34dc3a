import Foundation

/// `graphql.parse_query`, `graphql.parse_schema`, `graphql.parse`, `graphql.parse_and_verify`,
/// `graphql.is_valid` and `graphql.schema_is_valid`, as OPA defines them: documents come back
/// as OPA's (gqlparser's) AST objects, errors carry gqlparser's messages and positions, and the
/// query and schema arguments of the validating builtins may be strings or such AST objects.
extension Builtins {
    static func registerGraphQL(_ t: inout [String: Builtin]) {
        t["graphql.parse_query"] = Builtin(arity: 1) { a, _ in
            let fn = "graphql.parse_query"
            let s = try string(fn, a, 0)
            return GraphQLRego.query(try GraphQLBuiltins.parseQuery(fn, s))
        }
        t["graphql.parse_schema"] = Builtin(arity: 1) { a, _ in
            let fn = "graphql.parse_schema"
            let s = try string(fn, a, 0)
            return GraphQLRego.schema(try GraphQLBuiltins.parseSchema(fn, s))
        }
        t["graphql.parse"] = Builtin(arity: 2) { a, _ in
            let fn = "graphql.parse"
            let (query, queryValue) = try GraphQLBuiltins.queryArgument(fn, a[0], 1)
            let (schemaDoc, schemaValue) = try GraphQLBuiltins.schemaArgument(fn, a[1], 2)
            let schema: GraphQLSchema
            do {
                schema = try GraphQLSchema.build(schemaDoc)
            } catch let e as GraphQLError {
                throw RegoError.builtin(
                    """
                    \(fn): Error in gqlparser SchemaDocument to Schema conversion: input:\(e.line):\(e.column): \
                    \(e.message)
                    """
                )
            }
            let errors = GraphQLValidator.validate(schema, query)
            if !errors.isEmpty { throw RegoError.builtin("\(fn): \(GraphQLBuiltins.validationMessage(errors))") }
            return .array([queryValue, schemaValue])
        }
        t["graphql.parse_and_verify"] = Builtin(arity: 2) { a, _ in
            let unverified = RegoValue.array([.bool(false), .object([:]), .object([:])])
            guard let (query, queryValue) = try? GraphQLBuiltins.queryArgument("graphql.parse_and_verify", a[0], 1),
                let (schemaDoc, schemaValue) = try? GraphQLBuiltins.schemaArgument("graphql.parse_and_verify", a[1], 2),
                let schema = try? GraphQLSchema.build(schemaDoc),
                GraphQLValidator.validate(schema, query).isEmpty
            else { return unverified }
            return .array([.bool(true), queryValue, schemaValue])
        }
        t["graphql.is_valid"] = Builtin(arity: 2) { a, _ in
            guard let (query, _) = try? GraphQLBuiltins.queryArgument("graphql.is_valid", a[0], 1),
                let (schemaDoc, _) = try? GraphQLBuiltins.schemaArgument("graphql.is_valid", a[1], 2),
                let schema = try? GraphQLSchema.build(schemaDoc)
            else { return .bool(false) }
            return .bool(GraphQLValidator.validate(schema, query).isEmpty)
        }
        t["graphql.schema_is_valid"] = Builtin(arity: 1) { a, _ in
            guard let (schemaDoc, _) = try? GraphQLBuiltins.schemaArgument("graphql.schema_is_valid", a[0], 1) else {
                return .bool(false)
            }
            return .bool((try? GraphQLSchema.build(schemaDoc)) != nil)
        }
    }
}

enum GraphQLBuiltins {
    /// OPA's form of a syntax error: `<message> in GraphQL string at location <line>:<column>`.
    static func syntaxError(_ fn: String, _ e: GraphQLError) -> RegoError {
        RegoError.builtin("\(fn): \(e.message) in GraphQL string at location \(e.line):\(e.column)")
    }

    /// OPA joins every validation error (`input:L:C: message` lines), keeps the text after the
    /// first location, drops the final period and appends that location.
    static func validationMessage(_ errors: [GraphQLError]) -> String {
        var joined = errors.map { "input:\($0.line):\($0.column): \($0.message)\n" }.joined()
        let first = errors[0]
        joined = String(joined.dropFirst("input:\(first.line):\(first.column): ".count))
        if joined.hasSuffix(".\n") { joined.removeLast(2) }
        return "\(joined) in GraphQL string at location \(first.line):\(first.column)"
    }

    static func parseQuery(_ fn: String, _ s: String) throws -> GQLQueryDocument {
        do { return try GraphQLParser.parseQuery(s) } catch let e as GraphQLError { throw syntaxError(fn, e) }
    }

    static func parseSchema(_ fn: String, _ s: String) throws -> GQLSchemaDocument {
        do { return try GraphQLParser.parseSchema(s) } catch let e as GraphQLError { throw syntaxError(fn, e) }
    }

    /// A query given as a string or as an AST object, with the AST object OPA returns for it.
    static func queryArgument(_ fn: String, _ v: RegoValue, _ position: Int) throws -> (GQLQueryDocument, RegoValue) {
        switch v {
        case .string(let s):
            let doc = try parseQuery(fn, s)
            return (doc, GraphQLRego.query(doc))
        case .object:
            do {
                let doc = try GraphQLRego.decodeQuery(v)
                return (doc, GraphQLRego.query(doc))
            } catch let e as GraphQLRego.DecodeError {
                throw RegoError.builtin("\(fn): \(e.message)")
            }
        default:
            throw Builtins.typeError(fn, position, "one of {string, object}", v)
        }
    }

    /// A schema given as a string or as an AST object, with the AST object OPA returns for it.
    /// The object is converted before validation, which merges extensions into the document.
    static func schemaArgument(_ fn: String, _ v: RegoValue, _ position: Int) throws -> (GQLSchemaDocument, RegoValue) {
        switch v {
        case .string(let s):
            let doc = try parseSchema(fn, s)
            return (doc, GraphQLRego.schema(doc))
        case .object:
            do {
                let doc = try GraphQLRego.decodeSchema(v)
                return (doc, GraphQLRego.schema(doc))
            } catch let e as GraphQLRego.DecodeError {
                throw RegoError.builtin("\(fn): \(e.message)")
            }
        default:
            throw Builtins.typeError(fn, position, "one of {string, object}", v)
        }
    }
}
