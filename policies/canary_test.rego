# Unit tests for policies/canary.rego. Run by the test suite (and by `opa test policies`).
# The limits are fixed here so the tests do not depend on thresholds.json.
package swiftdeploy.canary_test

import rego.v1

import data.swiftdeploy.canary

limits := {"max_error_rate": 0.01, "max_p99_ms": 500, "warn_p95_ms": 300}

healthy := {"requests": 200, "errors": 1, "error_rate": 0.005, "error_rate_percent": 0.5, "request_rate": 20, "p50_ms": 12, "p95_ms": 90, "p99_ms": 180}

test_healthy_window_allows if {
	count(canary.deny) == 0 with input as {"metrics": healthy} with data.thresholds.canary as limits
	count(canary.warn) == 0 with input as {"metrics": healthy} with data.thresholds.canary as limits
}

test_error_rate_above_limit_denies if {
	metrics := object.union(healthy, {"errors": 10, "error_rate": 0.05, "error_rate_percent": 5})
	denies := canary.deny with input as {"metrics": metrics} with data.thresholds.canary as limits
	denies == {"error rate is 5% (10 of 200 requests answered 5xx), above the maximum ratio of 0.01 (thresholds.json canary.max_error_rate)"}
}

test_error_rate_at_limit_allows if {
	metrics := object.union(healthy, {"errors": 2, "error_rate": 0.01, "error_rate_percent": 1})
	count(canary.deny) == 0 with input as {"metrics": metrics} with data.thresholds.canary as limits
}

test_p99_above_limit_denies if {
	metrics := object.union(healthy, {"p95_ms": 200, "p99_ms": 742.4})
	denies := canary.deny with input as {"metrics": metrics} with data.thresholds.canary as limits
	denies == {"p99 latency is 742 ms, above the maximum of 500 ms (thresholds.json canary.max_p99_ms)"}
}

test_p95_above_comfort_warns if {
	metrics := object.union(healthy, {"p95_ms": 350, "p99_ms": 400})
	count(canary.deny) == 0 with input as {"metrics": metrics} with data.thresholds.canary as limits
	warns := canary.warn with input as {"metrics": metrics} with data.thresholds.canary as limits
	count(warns) == 1
}

test_chaos_active_warns if {
	metrics := object.union(healthy, {"chaos_active": 2, "chaos": true})
	warns := canary.warn with input as {"metrics": metrics} with data.thresholds.canary as limits
	warns == {"chaos mode is active on the service (chaos_active = 2): the figures may not reflect normal behaviour"}
}

test_both_limits_give_two_denies if {
	metrics := object.union(healthy, {"errors": 50, "error_rate": 0.25, "error_rate_percent": 25, "p99_ms": 4000})
	denies := canary.deny with input as {"metrics": metrics} with data.thresholds.canary as limits
	count(denies) == 2
}

test_no_chaos_no_warning if {
	metrics := object.union(healthy, {"chaos_active": 0, "chaos": false})
	count(canary.warn) == 0 with input as {"metrics": metrics} with data.thresholds.canary as limits
}

test_limits_come_from_data if {
	strict := object.union(limits, {"max_error_rate": 0.001})
	count(canary.deny) == 1 with input as {"metrics": healthy} with data.thresholds.canary as strict
}
