package gate

import rego.v1

default allow := false

allow if count(deny) == 0

deny contains msg if {
	input.errors > data.limits.max_errors
	msg := sprintf("%d errors exceed %d", [input.errors, data.limits.max_errors])
}
