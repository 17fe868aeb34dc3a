# GraphQL builtins over a corpus of schemas and queries (data.json): every schema's
# validity, every query against every schema, the parsed ASTs, and the ASTs fed back
# as objects. Compared with OPA's evaluator by DifferentialTests.
package graphqltest

import rego.v1

schema_valid[name] := graphql.schema_is_valid(s) if some name, s in data.schemas

# Every query against the valid schemas that differ most (an invalid schema makes every query invalid).
query_valid[key] := graphql.is_valid(q, data.schemas[sn]) if {
	some qn, q in data.queries
	some sn in ["main", "interfaces", "extend adds field", "no query type", "empty", "syntax error"]
	key := concat(" @ ", [qn, sn])
}

# opa-ref runs with strict builtin errors: the parsing builtins only see documents that parse.
syntax_errors := {"syntax error", "bad character", "unterminated string"}

parsed_query[name] := graphql.parse_query(q) if {
	some name, q in data.queries
	not syntax_errors[name]
}

parsed_schema[name] := graphql.parse_schema(s) if {
	some name, s in data.schemas
	not syntax_errors[name]
}

verified[key] := graphql.parse_and_verify(q, data.schemas[sn]) if {
	some qn, q in data.queries
	some sn in ["main", "interfaces"]
	key := concat(" @ ", [qn, sn])
}

parsed[key] := graphql.parse(q, data.schemas.main) if {
	some qn, q in data.queries
	graphql.is_valid(q, data.schemas.main)
	key := qn
}

# OPA's validator dereferences a nil position (a Go panic, reported as an error for the
# whole query) when a directive error is found in a query given as an object (every
# selection of which reads as a field, so `... @defer` becomes @defer on a field): left out.
panics_in_opa := {"directive wrong location", "defer on fragment", "defer on field", "defer repeated"}

from_objects[key] := graphql.is_valid(graphql.parse_query(q), graphql.parse_schema(data.schemas.main)) if {
	some qn, q in data.queries
	not panics_in_opa[qn]
	not syntax_errors[qn]
	key := qn
}

schema_object_valid[name] := graphql.schema_is_valid(graphql.parse_schema(s)) if {
	some name, s in data.schemas
	not syntax_errors[name]
}

not_strings := [
	graphql.is_valid(data.odd.number, data.schemas.main),
	graphql.schema_is_valid(data.odd.list),
	graphql.parse_and_verify(data.queries.simple, data.odd.number),
]
