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
#     max_error_rate_increase: {type: number, minimum: 0, maximum: 1}
#     max_p99_ratio: {type: number, minimum: 1}
#     relative_latency_floor_ms: {type: number, minimum: 0}
#     max_p_value: {type: number, minimum: 0, maximum: 1}
#     max_latency_mean_ratio: {type: number, minimum: 1}
#     max_error_rate_effect_size: {type: number, minimum: 0, maximum: 1}
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

# Relative rules: during `swiftdeploy rollout` each step also carries input.baseline (the stable side over the
# same interval) and input.comparison (canary against baseline; see docs/rollout.md). Outside a rollout these
# inputs are absent and the rules below do not apply. A figure that could not be computed is null and fires nothing.

deny contains msg if {
	d := input.comparison.error_rate_difference
	is_number(d)
	d > limits.max_error_rate_increase
	msg := sprintf("the candidate's error rate is %v%%, against the baseline's %v%%: a difference of %v, more than thresholds.json canary.max_error_rate_increase (%v)", [input.metrics.error_rate_percent, input.baseline.error_rate_percent, d, limits.max_error_rate_increase])
}

deny contains msg if {
	input.metrics.p99_ms > limits.relative_latency_floor_ms
	r := input.comparison.p99_ratio
	is_number(r)
	r > limits.max_p99_ratio
	msg := sprintf("the candidate's p99 latency is %v ms against the baseline's %v ms, a ratio of %v: above thresholds.json canary.max_p99_ratio (%v)", [round(input.metrics.p99_ms), round(input.baseline.p99_ms), r, limits.max_p99_ratio])
}

deny contains msg if {
	input.metrics.p99_ms > limits.relative_latency_floor_ms
	t := input.comparison.latency
	is_number(t.p_value)
	t.p_value < limits.max_p_value
	t.mean_ratio > limits.max_latency_mean_ratio
	msg := sprintf("the candidate is significantly slower than the baseline: Mann-Whitney U p-value %v is below thresholds.json canary.max_p_value (%v) and its mean latency is %v times the baseline's, above canary.max_latency_mean_ratio (%v)", [t.p_value, limits.max_p_value, t.mean_ratio, limits.max_latency_mean_ratio])
}

deny contains msg if {
	t := input.comparison.error_rate
	is_number(t.p_value)
	t.p_value < limits.max_p_value
	t.effect_size > limits.max_error_rate_effect_size
	msg := sprintf("the candidate fails significantly more often than the baseline: Mann-Whitney U p-value %v is below thresholds.json canary.max_p_value (%v) with an effect size of %v, above canary.max_error_rate_effect_size (%v)", [t.p_value, limits.max_p_value, t.effect_size, limits.max_error_rate_effect_size])
}

warn contains msg if {
	input.rollout
	is_null(input.baseline.error_rate)
	msg := sprintf("the stable side served no request during this step (weight %v%%): the relative rules had no baseline to compare with, only the absolute limits applied", [input.rollout.weight])
}
