# Pre-deploy gate: checks the manifest before anything starts.
package swiftdeploy.predeploy

import rego.v1

default allow := false

services := input.manifest.services

deny contains msg if {
	some name, svc in services
	endswith(svc.image, ":latest")
	msg := sprintf("service %q uses a floating tag (%s); pin a version", [name, svc.image])
}

deny contains msg if {
	some name, svc in services
	not contains(svc.image, ":")
	msg := sprintf("service %q has no image tag", [name])
}

deny contains msg if {
	some name, svc in services
	port := svc.port
	not port_ok(port)
	msg := sprintf("service %q port %v is outside 1-65535", [name, port])
}

deny contains msg if {
	some name, svc in services
	not svc.healthcheck
	msg := sprintf("service %q has no healthcheck", [name])
}

deny contains msg if {
	count(services) > data.thresholds.predeploy.max_services
	msg := sprintf("%d services exceed the limit of %d", [count(services), data.thresholds.predeploy.max_services])
}

warn contains msg if {
	some name, svc in services
	mem := units.parse_bytes(svc.memory)
	mem > units.parse_bytes(data.thresholds.predeploy.max_memory)
	msg := sprintf("service %q asks for %s of memory", [name, svc.memory])
}

port_ok(p) if {
	is_number(p)
	p >= 1
	p <= 65535
}

every_service_has_replicas if {
	every name, svc in services {
		svc.replicas >= 1
		name != ""
	}
}

allow if {
	count(deny) == 0
	every_service_has_replicas
}

summary := {"allow": allow, "deny": sort([m | some m in deny]), "warn": warn, "services": sort(object.keys(services))}
