# Checks made before a deploy: can this host take the new containers?
#
# input.host carries the facts read from the kernel (see docs/policy.md);
# every limit comes from data.thresholds.infrastructure (thresholds.json).
# No number is written here: tune thresholds.json instead.
#
# The METADATA block below is the contract of thresholds.json's infrastructure block: every key this policy reads
# and its type. swiftdeploy checks thresholds.json against it before any decision (see docs/policy.md).

# METADATA
# title: Infrastructure pre-deploy gate
# custom:
#   thresholds:
#     min_disk_free_gb: {type: number, minimum: 0}
#     warn_disk_free_gb: {type: number, minimum: 0}
#     max_load_per_cpu: {type: number, minimum: 0}
#     max_memory_used_percent: {type: number, minimum: 0, maximum: 100}
#     warn_memory_used_percent: {type: number, minimum: 0, maximum: 100}
package swiftdeploy.infrastructure

import rego.v1

limits := data.thresholds.infrastructure

deny contains msg if {
	input.host.disk_free_gb < limits.min_disk_free_gb
	msg := sprintf("free disk on %v is %v GB, below the minimum of %v GB (thresholds.json infrastructure.min_disk_free_gb)", [input.host.disk_path, input.host.disk_free_gb, limits.min_disk_free_gb])
}

deny contains msg if {
	input.host.memory_used_percent > limits.max_memory_used_percent
	msg := sprintf("memory use is %v%%, above the maximum of %v%% (thresholds.json infrastructure.max_memory_used_percent)", [input.host.memory_used_percent, limits.max_memory_used_percent])
}

deny contains msg if {
	input.host.load_per_cpu > limits.max_load_per_cpu
	msg := sprintf("1-minute load is %v per CPU (%v over %v CPUs), above the maximum of %v (thresholds.json infrastructure.max_load_per_cpu)", [input.host.load_per_cpu, input.host.load1, input.host.cpu_count, limits.max_load_per_cpu])
}

warn contains msg if {
	input.host.disk_free_gb >= limits.min_disk_free_gb
	input.host.disk_free_gb < limits.warn_disk_free_gb
	msg := sprintf("free disk on %v is %v GB, below the comfortable %v GB (thresholds.json infrastructure.warn_disk_free_gb)", [input.host.disk_path, input.host.disk_free_gb, limits.warn_disk_free_gb])
}

warn contains msg if {
	input.host.memory_used_percent <= limits.max_memory_used_percent
	input.host.memory_used_percent > limits.warn_memory_used_percent
	msg := sprintf("memory use is %v%%, above the comfortable %v%% (thresholds.json infrastructure.warn_memory_used_percent)", [input.host.memory_used_percent, limits.warn_memory_used_percent])
}
