# Checks made before a deploy, a promote or a rollout, and by `swiftdeploy gate slo`:
# is the service inside its error budget, and is delivery healthy enough to ship?
#
# input.slo carries each objective's error ratio and burn rate per window, the
# budget remaining over the SLO window and the alerts firing (read from
# Prometheus); input.delivery the delivery figures from the history (see
# docs/slo.md). Every limit comes from data.thresholds.slo (thresholds.json):
# the burn-rate pairs of the SRE workbook (page and ticket), the least budget
# that must remain, the largest change failure rate. No number is written here.
#
# The METADATA block below is the contract of thresholds.json's slo block: every key this policy reads and its
# type; each burn-rate pair's fields are checked too (a missing or mistyped factor would otherwise compare as
# "never above" and let every release through). swiftdeploy checks thresholds.json against it before any
# decision (see docs/policy.md). The windows are those observability/rules/slo.yml records.

# METADATA
# title: SLO and release health gate
# custom:
#   thresholds:
#     max_change_failure_rate: {type: number, minimum: 0, maximum: 1}
#     min_error_budget_remaining: {type: number, minimum: 0, maximum: 1}
#     page_burn_rates:
#       type: array
#       minItems: 1
#       items:
#         factor: {type: number, minimum: 0}
#         long: {type: string, enum: [5m, 30m, 1h, 2h, 6h, 1d, 3d]}
#         short: {type: string, enum: [5m, 30m, 1h, 2h, 6h, 1d, 3d]}
#     ticket_burn_rates:
#       type: array
#       items:
#         factor: {type: number, minimum: 0}
#         long: {type: string, enum: [5m, 30m, 1h, 2h, 6h, 1d, 3d]}
#         short: {type: string, enum: [5m, 30m, 1h, 2h, 6h, 1d, 3d]}
package swiftdeploy.slo

import rego.v1

limits := data.thresholds.slo

# A page-level burn: the budget burns faster than the factor over both windows.
deny contains msg if {
	some name, objective in input.slo.objectives
	some pair in limits.page_burn_rates
	long := objective.burn_rate[pair.long]
	short := objective.burn_rate[pair.short]
	long > pair.factor
	short > pair.factor
	msg := sprintf("objective %s burns its error budget at %vx over %s and %vx over %s, above the page-level %vx (thresholds.json slo.page_burn_rates)", [name, long, pair.long, short, pair.short, pair.factor])
}

# A ticket-level burn: worth a look before shipping more.
warn contains msg if {
	some name, objective in input.slo.objectives
	some pair in limits.ticket_burn_rates
	long := objective.burn_rate[pair.long]
	short := objective.burn_rate[pair.short]
	long > pair.factor
	short > pair.factor
	msg := sprintf("objective %s burns its error budget at %vx over %s and %vx over %s, above the ticket-level %vx (thresholds.json slo.ticket_burn_rates)", [name, long, pair.long, short, pair.short, pair.factor])
}

# The budget is spent: nothing new ships until reliability work earns it back.
deny contains msg if {
	some name, objective in input.slo.objectives
	objective.error_budget_remaining <= limits.min_error_budget_remaining
	msg := sprintf("objective %s has %v of its %s error budget left (as a fraction), at or below the minimum %v (thresholds.json slo.min_error_budget_remaining)", [name, objective.error_budget_remaining, objective.window, limits.min_error_budget_remaining])
}

# Too many recent changes failed.
deny contains msg if {
	rate := input.delivery.change_failure_rate
	is_number(rate)
	rate > limits.max_change_failure_rate
	msg := sprintf("change failure rate is %v (%v of the last %v changes failed), above the maximum ratio of %v (thresholds.json slo.max_change_failure_rate)", [rate, input.delivery.failed_changes, input.delivery.changes, limits.max_change_failure_rate])
}

# A burn-rate alert firing in Prometheus that the figures above did not already explain.
warn contains msg if {
	some alert in input.slo.alerts_firing
	msg := sprintf("Prometheus alert %s (severity %s, objective %s, %s/%s) is firing", [alert.alert, alert.severity, alert.objective, alert.long_window, alert.short_window])
}

