# providers.aws.sign_req over requests with paths, queries, ports, headers, bodies and
# times on both sides of the epoch. Compared with OPA's evaluator by DifferentialTests.
# The request is rebuilt by a comprehension: OPA's evaluator returns a request read straight
# from data without the signed headers (its store's lazy objects drop the insertion).
package awssigning

import rego.v1

signed[name] := providers.aws.sign_req(req, data.configs[c], t) if {
	some name, r in data.requests
	req := {k: v | some k, v in r.request}
	c := r.config
	t := r.time_ns
}

headers[name] := s.headers if some name, s in signed
