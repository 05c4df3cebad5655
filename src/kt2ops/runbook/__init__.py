"""The migration runbook per domain: steps, state, audit trail, gate, maintenance windows, backups."""
