# B.5L: the ingress limit per client address is in force on every KT 2.0 environment, as on production: an
# exemption exists only while the runbook holds one open for a domain's migration window (step P.8L, ended
# by its undo, Q.10 or R). An exemption of a domain whose window has ended, or written by hand, is a finding.
package kt2.controls.b5_ingress_limit

import rego.v1

import data.kt2.lib

held_open(domain_id) if input.runbook[domain_id].limit_exemption_open

findings contains f if {
	some [env_id, name, host] in lib.hosts
	some exemption in host.limit_exemptions
	not held_open(exemption.domain)
	f := {"environment": env_id, "host": name, "message": concat("", ["the ingress limit exempts ", exemption.address, " (", reason(exemption), ")"])}
}

reason(exemption) := "written outside the runbook" if exemption.domain == ""

reason(exemption) := concat("", ["left open for domain ", exemption.domain, ": its migration window has ended (P.8L undone, Q.10 or R)"]) if exemption.domain != ""
