"""Migrating a domain from KT 1.3 to KT 2.0 (runbook P.8, M.2, Q): validate the KT 1.3 export, stage it,
replay it into the KT 2.0 FHIR server in reference order, and compare counts and hash totals."""
