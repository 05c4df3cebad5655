# B.7: before a domain's migration disrupts anything, a backup of its source data exists whose files are
# unchanged and whose restore test gave back identical data (runbook L.2/P.2). Judged on the
# environment the domain is migrated to.
package kt2.controls.b7_backup

import rego.v1

restore_tested(runbook) if {
	some _, backup in runbook.backups
	backup.restore_test == "identical"
	backup.files_intact
}

findings contains f if {
	some domain_id, runbook in input.runbook
	count(runbook.migration_started) > 0
	input.environments[runbook.target]
	not restore_tested(runbook)
	f := {"environment": runbook.target, "host": "", "message": concat("", ["domain ", domain_id, ": migration steps ran (", concat(", ", runbook.migration_started), ") without an intact, restore-tested backup"])}
}
