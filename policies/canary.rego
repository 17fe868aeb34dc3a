# Checks made before a promote: is the canary healthy enough to become stable?
#
# input.metrics carries the figures of one window (see docs/policy.md);
# every limit comes from data.thresholds.canary (thresholds.json).
# No number is written here: tune thresholds.json instead.
#
# The METADATA block below is the contract of thresholds.json's canary block: every key this policy reads and its
# type. swiftdeploy checks thresholds.json against it before any decision (see docs/policy.md).

# METADATA
# title: Canary promotion gate
# custom:
#   thresholds:
#     max_error_rate: {type: number, minimum: 0, maximum: 1}
#     max_p99_ms: {type: number, minimum: 0}
#     warn_p95_ms: {type: number, minimum: 0}
package swiftdeploy.canary

import rego.v1

limits := data.thresholds.canary

deny contains msg if {
	input.metrics.error_rate > limits.max_error_rate
	msg := sprintf("error rate is %v%% (%v of %v requests answered 5xx), above the maximum ratio of %v (thresholds.json canary.max_error_rate)", [input.metrics.error_rate_percent, input.metrics.errors, input.metrics.requests, limits.max_error_rate])
}

deny contains msg if {
	input.metrics.p99_ms > limits.max_p99_ms
	msg := sprintf("p99 latency is %v ms, above the maximum of %v ms (thresholds.json canary.max_p99_ms)", [round(input.metrics.p99_ms), limits.max_p99_ms])
}

warn contains msg if {
	input.metrics.p95_ms > limits.warn_p95_ms
	msg := sprintf("p95 latency is %v ms, above the comfortable %v ms (thresholds.json canary.warn_p95_ms)", [round(input.metrics.p95_ms), limits.warn_p95_ms])
}

warn contains msg if {
	input.metrics.chaos
	msg := sprintf("chaos mode is active on the service (chaos_active = %v): the figures may not reflect normal behaviour", [input.metrics.chaos_active])
}
