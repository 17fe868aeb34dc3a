# Unit tests for policies/infrastructure.rego. Run by the test suite (and by `opa test policies`).
# The limits are fixed here so the tests do not depend on thresholds.json.
package swiftdeploy.infrastructure_test

import rego.v1

import data.swiftdeploy.infrastructure

limits := {
	"min_disk_free_gb": 5,
	"warn_disk_free_gb": 20,
	"max_load_per_cpu": 2,
	"max_memory_used_percent": 90,
	"warn_memory_used_percent": 80,
}

roomy := {"disk_free_gb": 120.5, "disk_path": "/var/lib/docker", "load1": 0.5, "cpu_count": 4, "load_per_cpu": 0.125, "memory_used_percent": 40}

test_roomy_host_allows if {
	count(infrastructure.deny) == 0 with input as {"host": roomy} with data.thresholds.infrastructure as limits
	count(infrastructure.warn) == 0 with input as {"host": roomy} with data.thresholds.infrastructure as limits
}

test_low_disk_denies if {
	host := object.union(roomy, {"disk_free_gb": 1.5})
	denies := infrastructure.deny with input as {"host": host} with data.thresholds.infrastructure as limits
	denies == {"free disk on /var/lib/docker is 1.5 GB, below the minimum of 5 GB (thresholds.json infrastructure.min_disk_free_gb)"}
	count(infrastructure.warn) == 0 with input as {"host": host} with data.thresholds.infrastructure as limits
}

test_tight_disk_warns if {
	host := object.union(roomy, {"disk_free_gb": 12})
	count(infrastructure.deny) == 0 with input as {"host": host} with data.thresholds.infrastructure as limits
	count(infrastructure.warn) == 1 with input as {"host": host} with data.thresholds.infrastructure as limits
}

test_memory_pressure_denies if {
	host := object.union(roomy, {"memory_used_percent": 95.5})
	denies := infrastructure.deny with input as {"host": host} with data.thresholds.infrastructure as limits
	denies == {"memory use is 95.5%, above the maximum of 90% (thresholds.json infrastructure.max_memory_used_percent)"}
}

test_memory_warning_band_warns if {
	host := object.union(roomy, {"memory_used_percent": 85})
	count(infrastructure.deny) == 0 with input as {"host": host} with data.thresholds.infrastructure as limits
	count(infrastructure.warn) == 1 with input as {"host": host} with data.thresholds.infrastructure as limits
}

test_overloaded_host_denies if {
	host := object.union(roomy, {"load1": 10, "load_per_cpu": 2.5})
	denies := infrastructure.deny with input as {"host": host} with data.thresholds.infrastructure as limits
	denies == {"1-minute load is 2.5 per CPU (10 over 4 CPUs), above the maximum of 2 (thresholds.json infrastructure.max_load_per_cpu)"}
}
