"""Validation's checks against KT 2.0: the staged export, mapped as the target will hold it, against the
KT2 profiles (hashed on the way into the source's totals for the Q gate), and each application's right to
publish what it sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kt2ops.migration.mapping import kt13_reference, to_fhir
from kt2ops.migration.profiles import violations
from kt2ops.migration.stage import TYPES_IN_ORDER, Staging
from kt2ops.migration.totals import ORGANIZATION_KEY, Totals, application_key, endpoint_key, resource_hash


def check_profiles(staging: Staging, doc: dict[str, Any], totals_path: Path) -> None:
    """Every in-scope resource, mapped as the target will hold it, against the KT2 profiles: one finding per
    resource naming the elements and its export line. Blocking, unless the domain file's
    `migration.profile_findings` makes its type non_blocking: then it stays out of the migration and goes
    into the error list. Nothing is made up to fill a required element.

    The same mapping (references as stable keys) is what the target should hold, so its hashes are the
    source's totals, written to `totals_path`: one mapping per resource, not one here and one after P.8."""
    policy = doc["migration"].get("profile_findings", {})
    applications = {a["id"] for a in doc["applications"]}
    base = doc["kt13"]["fhir_base"]
    totals = Totals(totals_path)
    with staging.db:
        for kind in TYPES_IN_ORDER:
            blocking = policy.get("per_type", {}).get(kind, policy.get("default", "blocking")) == "blocking"
            for row in staging.staged(kind):
                known = row["sender"] in applications
                resource = to_fhir(kind, row, base, lambda k, s: kt13_reference(base, k, s), ORGANIZATION_KEY,
                                   application_key(row["sender"]) if known else None,
                                   endpoint_key(row["sender"]) if known else None)
                totals.add(kind, kt13_reference(base, kind, row["source_id"]), resource_hash(resource))
                problems = violations(resource)
                if not problems:
                    continue
                text = "; ".join(problems)
                staging.finding(blocking, "profile", f"{kind} {row['source_id']}: {text}", row["message_id"],
                                row["line"])
                if not blocking:
                    staging.exclude(kind, row["source_id"], f"KT2 profile: {text}")
    totals.write()
    totals.release()


def check_publishers(staging: Staging, doc: dict[str, Any]) -> None:
    """Each application publishes what it sent to KT 1.3 with its own credentials (P.8), so each must be an
    application of the domain whose role may create the types it sent. One blocking finding per application
    and type that cannot, before anything is sent: the domain admin fixes the role (or the registration)."""
    roles = {role["id"]: role for role in doc["roles"]}
    applications = {app["id"]: roles.get(app["role"], {"id": app["role"], "permissions": []})
                    for app in doc["applications"]}
    with staging.db:
        for kind in TYPES_IN_ORDER:
            for sender, (count, line) in sorted(staging.by_sender(kind).items()):
                role = applications.get(sender)
                if role is None:
                    problem = "is not an application of the domain on KT 2.0"
                elif not any(p["resource"] == kind and "create" in p["operations"] for p in role["permissions"]):
                    problem = f"has a role ({role['id']}) that may not create {kind}"
                else:
                    continue
                staging.finding(True, "publisher", f"{count} {kind} sent by {sender} to KT 1.3: {sender} {problem}, "
                                "so it cannot publish them", None, line)
