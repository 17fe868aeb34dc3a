# Canary gate: judge a canary's metrics window against thresholds.
package swiftdeploy.canary

import rego.v1

thresholds := data.thresholds.canary

default allow := false

error_rate := input.metrics.errors / input.metrics.requests if {
	input.metrics.requests > 0
} else := 0

deny contains msg if {
	error_rate > thresholds.max_error_rate
	msg := sprintf("error rate %.2f%% exceeds the limit of %v%%", [error_rate * 100, thresholds.max_error_rate * 100])
}

deny contains msg if {
	input.metrics.p99_latency_ms > thresholds.max_p99_latency_ms
	msg := sprintf("p99 latency %vms exceeds %vms", [input.metrics.p99_latency_ms, thresholds.max_p99_latency_ms])
}

deny contains msg if {
	some code, n in input.metrics.status_codes
	startswith(code, "5")
	n > thresholds.max_5xx_per_code
	msg := sprintf("status %s seen %d times (limit %d)", [code, n, thresholds.max_5xx_per_code])
}

warn contains msg if {
	input.metrics.requests < thresholds.min_requests
	msg := sprintf("only %d requests in the window; want at least %d", [input.metrics.requests, thresholds.min_requests])
}

warn contains "window shorter than configured" if {
	input.window_seconds < thresholds.window_seconds
}

allow if count(deny) == 0

inconclusive if {
	input.metrics.requests == 0
}

decision := {
	"allow": allow,
	"deny": deny,
	"warn": warn,
	"error_rate": error_rate,
	"inconclusive": object.get({"v": inconclusive}, "v", false),
}
