# B.4: every supplier with an application on the platform has a security incident procedure on record
# that has not expired.
package kt2.controls.b4_incident_procedure

import rego.v1

# What is wrong per supplier, judged once (then reported for every environment it applies to).
problems contains msg if {
	some supplier in input.suppliers_in_use
	not input.records.suppliers[supplier].incident_procedure
	msg := sprintf("no security incident procedure on record for supplier %s", [supplier])
}

problems contains msg if {
	some supplier in input.suppliers_in_use
	expires := input.records.suppliers[supplier].incident_procedure.expires
	expires < input.date
	msg := sprintf("the incident procedure of %s expired on %s", [supplier, expires])
}

findings contains f if {
	some msg in problems
	some env_id, _ in input.environments
	f := {"environment": env_id, "host": "", "message": msg}
}
