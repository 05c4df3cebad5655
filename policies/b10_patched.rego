# B.10: machines are current and fully patched: no pending security update, package lists fetched
# within the last week (otherwise "no pending update" means nothing).
package kt2.controls.b10_patched

import rego.v1

import data.kt2.lib

max_list_age_seconds := 604800

findings contains f if {
	some [env_id, name, host] in lib.hosts
	count(host.updates.pending_security) > 0
	f := {"environment": env_id, "host": name, "message": concat("", ["pending security updates: ", concat(", ", host.updates.pending_security)])}
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	host.updates.lists_fetched == null
	f := {"environment": env_id, "host": name, "message": "package lists were never fetched: pending updates cannot be known"}
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	input.collected_epoch - host.updates.lists_fetched > max_list_age_seconds
	f := {"environment": env_id, "host": name, "message": "package lists are older than 7 days: pending updates cannot be known"}
}
