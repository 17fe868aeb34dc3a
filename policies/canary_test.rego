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

# Relative rules (rollout steps): input.baseline and input.comparison beside input.metrics.
relative := object.union(limits, {"max_error_rate_increase": 0.01, "max_p99_ratio": 1.5, "relative_latency_floor_ms": 100, "max_p_value": 0.05, "max_latency_mean_ratio": 1.25, "max_error_rate_effect_size": 0.75})

baseline := {"requests": 800, "errors": 2, "error_rate": 0.0025, "error_rate_percent": 0.25, "p50_ms": 10, "p95_ms": 80, "p99_ms": 150}

same := {"error_rate_difference": 0.0025, "p50_ratio": 1.2, "p95_ratio": 1.125, "p99_ratio": 1.2, "latency": {"p_value": 0.4, "mean_ratio": 1.1, "effect_size": 0.6}, "error_rate": {"p_value": 0.7, "mean_ratio": 2, "effect_size": 0.55}}

step := {"step": 0, "steps": [20, 50, 100], "weight": 20, "interval_seconds": 30}

test_rollout_step_like_baseline_allows if {
	doc := {"metrics": healthy, "baseline": baseline, "comparison": same, "rollout": step}
	count(canary.deny) == 0 with input as doc with data.thresholds.canary as relative
	count(canary.warn) == 0 with input as doc with data.thresholds.canary as relative
}

test_error_rate_above_baseline_denies if {
	metrics := object.union(healthy, {"errors": 4, "error_rate": 0.02, "error_rate_percent": 2})
	comparison := object.union(same, {"error_rate_difference": 0.0175})
	doc := {"metrics": metrics, "baseline": baseline, "comparison": comparison, "rollout": step}
	denies := canary.deny with input as doc with data.thresholds.canary as object.union(relative, {"max_error_rate": 0.05})
	denies == {"the candidate's error rate is 2%, against the baseline's 0.25%: a difference of 0.0175, more than thresholds.json canary.max_error_rate_increase (0.01)"}
}

test_p99_ratio_above_limit_denies if {
	metrics := object.union(healthy, {"p99_ms": 400})
	comparison := object.union(same, {"p99_ratio": 2.67})
	doc := {"metrics": metrics, "baseline": baseline, "comparison": comparison, "rollout": step}
	denies := canary.deny with input as doc with data.thresholds.canary as relative
	denies == {"the candidate's p99 latency is 400 ms against the baseline's 150 ms, a ratio of 2.67: above thresholds.json canary.max_p99_ratio (1.5)"}
}

test_p99_ratio_below_floor_is_not_judged if {
	metrics := object.union(healthy, {"p99_ms": 40})
	comparison := object.union(same, {"p99_ratio": 4, "latency": {"p_value": 0.001, "mean_ratio": 3, "effect_size": 1}})
	doc := {"metrics": metrics, "baseline": baseline, "comparison": comparison, "rollout": step}
	count(canary.deny) == 0 with input as doc with data.thresholds.canary as relative
}

test_significant_latency_regression_denies if {
	comparison := object.union(same, {"latency": {"p_value": 0.003, "mean_ratio": 1.5, "effect_size": 0.9}})
	doc := {"metrics": healthy, "baseline": baseline, "comparison": comparison, "rollout": step}
	denies := canary.deny with input as doc with data.thresholds.canary as relative
	count(denies) == 1
}

test_significant_but_small_latency_shift_allows if {
	comparison := object.union(same, {"latency": {"p_value": 0.003, "mean_ratio": 1.1, "effect_size": 0.7}})
	doc := {"metrics": healthy, "baseline": baseline, "comparison": comparison, "rollout": step}
	count(canary.deny) == 0 with input as doc with data.thresholds.canary as relative
}

test_significant_error_regression_denies if {
	comparison := object.union(same, {"error_rate": {"p_value": 0.01, "mean_ratio": 50, "effect_size": 0.95}})
	doc := {"metrics": healthy, "baseline": baseline, "comparison": comparison, "rollout": step}
	denies := canary.deny with input as doc with data.thresholds.canary as relative
	count(denies) == 1
}

test_null_comparison_fires_nothing if {
	comparison := {"error_rate_difference": null, "p50_ratio": null, "p95_ratio": null, "p99_ratio": null, "latency": null, "error_rate": null}
	doc := {"metrics": object.union(healthy, {"p99_ms": 400}), "baseline": object.union(baseline, {"requests": 5}), "comparison": comparison, "rollout": step}
	count(canary.deny) == 0 with input as doc with data.thresholds.canary as relative
}

test_idle_baseline_warns if {
	doc := {"metrics": healthy, "baseline": object.union(baseline, {"requests": 0, "error_rate": null}), "comparison": same, "rollout": object.union(step, {"weight": 100})}
	warns := canary.warn with input as doc with data.thresholds.canary as relative
	warns == {"the stable side served no request during this step (weight 100%): the relative rules had no baseline to compare with, only the absolute limits applied"}
}
