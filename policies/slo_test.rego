# Unit tests for policies/slo.rego. Run by the test suite (and by `opa test policies`).
# The limits are fixed here so the tests do not depend on thresholds.json.
package swiftdeploy.slo_test

import rego.v1

import data.swiftdeploy.slo

limits := {
	"max_change_failure_rate": 0.15,
	"min_error_budget_remaining": 0,
	"page_burn_rates": [{"factor": 14.4, "long": "1h", "short": "5m"}, {"factor": 6, "long": "6h", "short": "30m"}],
	"ticket_burn_rates": [{"factor": 3, "long": "1d", "short": "2h"}, {"factor": 1, "long": "3d", "short": "6h"}],
}

calm := {"5m": 0.2, "30m": 0.2, "1h": 0.2, "2h": 0.2, "6h": 0.2, "1d": 0.2, "3d": 0.2, "30d": 0.2}

objective(burn) := {"availability": {
	"target": 99.5, "window": "30d", "error_budget": 0.005,
	"burn_rate": burn, "error_budget_remaining": 0.8, "alerts_firing": [],
}}

healthy_delivery := {"changes": 10, "failed_changes": 1, "change_failure_rate": 0.1}

doc(burn, delivery) := {"slo": {"objectives": objective(burn), "alerts_firing": []}, "delivery": delivery}

test_calm_allows if {
	count(slo.deny) == 0 with input as doc(calm, healthy_delivery) with data.thresholds.slo as limits
	count(slo.warn) == 0 with input as doc(calm, healthy_delivery) with data.thresholds.slo as limits
}

test_fast_burn_over_1h_and_5m_denies_naming_objective_and_windows if {
	burn := object.union(calm, {"5m": 100, "1h": 20})
	denies := slo.deny with input as doc(burn, healthy_delivery) with data.thresholds.slo as limits
	denies == {"objective availability burns its error budget at 20x over 1h and 100x over 5m, above the page-level 14.4x (thresholds.json slo.page_burn_rates)"}
}

test_fast_burn_in_short_window_only_does_not_page if {
	# The 5m window alone is above 14.4x; the 1h window is not: the burn already stopped mattering (multiwindow).
	burn := object.union(calm, {"5m": 100, "1h": 2})
	count(slo.deny) == 0 with input as doc(burn, healthy_delivery) with data.thresholds.slo as limits
}

test_burn_at_exactly_the_factor_does_not_page if {
	burn := object.union(calm, {"5m": 14.4, "1h": 14.4})
	count(slo.deny) == 0 with input as doc(burn, healthy_delivery) with data.thresholds.slo as limits
}

test_ticket_burn_warns_and_does_not_deny if {
	burn := object.union(calm, {"2h": 3.5, "1d": 3.2, "6h": 0.5, "3d": 0.5})
	count(slo.deny) == 0 with input as doc(burn, healthy_delivery) with data.thresholds.slo as limits
	warns := slo.warn with input as doc(burn, healthy_delivery) with data.thresholds.slo as limits
	warns == {"objective availability burns its error budget at 3.2x over 1d and 3.5x over 2h, above the ticket-level 3x (thresholds.json slo.ticket_burn_rates)"}
}

test_exhausted_budget_denies if {
	o := object.union(objective(calm).availability, {"error_budget_remaining": -0.25})
	denies := slo.deny with input as {"slo": {"objectives": {"availability": o}, "alerts_firing": []}, "delivery": healthy_delivery}
		with data.thresholds.slo as limits
	denies == {"objective availability has -0.25 of its 30d error budget left (as a fraction), at or below the minimum 0 (thresholds.json slo.min_error_budget_remaining)"}
}

test_change_failure_rate_above_limit_denies if {
	delivery := {"changes": 10, "failed_changes": 3, "change_failure_rate": 0.3}
	denies := slo.deny with input as doc(calm, delivery) with data.thresholds.slo as limits
	denies == {"change failure rate is 0.3 (3 of the last 10 changes failed), above the maximum ratio of 0.15 (thresholds.json slo.max_change_failure_rate)"}
}

test_change_failure_rate_at_limit_allows if {
	delivery := {"changes": 20, "failed_changes": 3, "change_failure_rate": 0.15}
	count(slo.deny) == 0 with input as doc(calm, delivery) with data.thresholds.slo as limits
}

test_no_changes_yet_allows if {
	delivery := {"changes": 0, "failed_changes": 0, "change_failure_rate": null}
	count(slo.deny) == 0 with input as doc(calm, delivery) with data.thresholds.slo as limits
}

test_firing_alert_warns if {
	alert := {"alert": "AvailabilityBurnRate3d", "severity": "ticket", "objective": "availability", "long_window": "3d", "short_window": "6h"}
	warns := slo.warn with input as {"slo": {"objectives": objective(calm), "alerts_firing": [alert]}, "delivery": healthy_delivery}
		with data.thresholds.slo as limits
	warns == {"Prometheus alert AvailabilityBurnRate3d (severity ticket, objective availability, 3d/6h) is firing"}
}
