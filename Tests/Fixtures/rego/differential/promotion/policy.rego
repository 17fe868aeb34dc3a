# Promotion gate: compares canary against stable and decides the next weight.
package swiftdeploy.promotion

import rego.v1

stable := input.stable
canary := input.canary

latency_ratio := canary.p95_ms / stable.p95_ms if stable.p95_ms > 0

deny contains sprintf("canary p95 is %.1fx the stable p95 (limit %v)", [latency_ratio, data.limits.max_latency_ratio]) if {
	latency_ratio > data.limits.max_latency_ratio
}

deny contains msg if {
	some route in canary.failing_routes
	not route in data.limits.ignored_routes
	msg := concat(" ", ["route", route, "fails on the canary"])
}

next_weight := w if {
	count(deny) == 0
	w := min([input.weight * 2, 100])
} else := 0

history_ok if {
	stamps := [t | some e in input.history; t := time.parse_rfc3339_ns(e.at)]
	count(stamps) == count(input.history)
	sort(stamps) == stamps
}

result := {
	"promote": count(deny) == 0,
	"next_weight": next_weight,
	"deny": deny,
	"history_ordered": history_ok,
	"steps": [s | some i, e in input.history; s := {"step": i, "weight": e.weight, "day": time.weekday(time.parse_rfc3339_ns(e.at))}],
	"labels": {k: upper(v) | some k, v in input.labels},
	"tags": {t | some t in split(input.tags, ",")} | {"canary"},
}
