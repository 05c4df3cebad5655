"""Validation's profile check: the staged export, mapped as P.8 will send it, against the KT2 profiles."""

from __future__ import annotations

from typing import Any

from kt2ops.migration.mapping import to_fhir
from kt2ops.migration.profiles import violations
from kt2ops.migration.stage import TYPES_IN_ORDER, Staging


def check_profiles(staging: Staging, doc: dict[str, Any]) -> None:
    """Every in-scope resource, mapped as P.8 will send it, against the KT2 profiles: one finding per
    resource naming the elements and its export line. Blocking, unless the domain file's
    `migration.profile_findings` makes its type non_blocking: then it stays out of the migration and goes
    into the error list. Nothing is made up to fill a required element."""
    policy = doc["migration"].get("profile_findings", {})
    applications = {a["id"] for a in doc["applications"]}
    with staging.db:
        for kind in TYPES_IN_ORDER:
            blocking = policy.get("per_type", {}).get(kind, policy.get("default", "blocking")) == "blocking"
            for row in staging.staged(kind):
                known = row["sender"] in applications
                resource = to_fhir(kind, row, doc["kt13"]["fhir_base"], lambda k, s: f"{k}/{s}", "Organization/domain",
                                   f"Device/{row['sender']}" if known else None,
                                   f"Endpoint/{row['sender']}" if known else None)
                problems = violations(resource)
                if not problems:
                    continue
                text = "; ".join(problems)
                staging.finding(blocking, "profile", f"{kind} {row['source_id']}: {text}", row["message_id"],
                                row["line"])
                if not blocking:
                    staging.exclude(kind, row["source_id"], f"KT2 profile: {text}")
