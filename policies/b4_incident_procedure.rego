# B.4: every supplier with an application on the platform has a security incident procedure on record
# that has not expired.
package kt2.controls.b4_incident_procedure

import rego.v1

record(supplier) := r if {
	some r in input.records.suppliers
	r.name == supplier
}

findings contains f if {
	some env_id, _ in input.environments
	some supplier in input.suppliers_in_use
	not record(supplier).incident_procedure
	f := {"environment": env_id, "host": "", "message": sprintf("no security incident procedure on record for supplier %s", [supplier])}
}

findings contains f if {
	some env_id, _ in input.environments
	some supplier in input.suppliers_in_use
	expires := record(supplier).incident_procedure.expires
	expires < input.date
	f := {"environment": env_id, "host": "", "message": sprintf("the incident procedure of %s expired on %s", [supplier, expires])}
}
