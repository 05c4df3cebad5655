"""KT 1.3 resources as their KT 2.0 (FHIR R4) counterparts, per the migration guide: the same person
types, a care plan activity becomes a Task (for = the client, owner = the performer, status from the
newest status update), an ActivityDefinition's isActive/isArchived becomes its status. Every resource
carries the migration-only identifier whose value is its KT 1.3 reference and declares its KT2 profile."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import orjson

from kt2ops.migration.checks import ACTIVITY_STATUS
from kt2ops.migration.profiles import ENDPOINT_EXTENSION, INSTANTIATES, RESOURCE_ORIGIN, declared

# The migration guide's temporary identifier: use temp, a system per type, the KT 1.3 link as value.
MIGRATION_SYSTEM_BASE = "http://koppeltaal.nl/migration/identifier/"
COPIED = {  # elements taken over as they are, per type
    "Patient": ("name", "gender", "birthDate", "telecom", "address"),
    "Practitioner": ("name", "telecom"),
    "RelatedPerson": ("name", "telecom", "address", "relationship", "gender", "birthDate"),
    "CareTeam": ("name",),
    "ActivityDefinition": ("url", "title", "description"),
}


class Unresolved(LookupError):
    """A referenced resource was not migrated (it failed), so this one cannot be either."""


def kt13_type(kind: str) -> str:
    """The KT 1.3 type a KT 2.0 type was migrated from (a Task was a care plan activity)."""
    return "CarePlanActivity" if kind == "Task" else kind


def kt13_reference(kt13_base: str, kind: str, source_id: str) -> str:
    """The KT 1.3 resource link (latest version, without version) under the domain's KT 1.3 FHIR base."""
    return f"{kt13_base}/{kt13_type(kind)}/{source_id}"


def migration_system(kind: str) -> str:
    """The guide's identifier system of a migrated resource of this KT 2.0 type."""
    return MIGRATION_SYSTEM_BASE + kt13_type(kind)


def migrated(kind: str, mark: str = "") -> str:
    """The identifier search for one migrated resource (by its mark) or, without, for all of the type."""
    return f"{migration_system(kind)}|{mark}"


# Resolves (type, KT 1.3 id) to the reference to use: the server's id on a target, or a stable key when
# hashing. Raises Unresolved.
Refer = Callable[[str, str], str]


def _ref(refer: Refer, reference: str | None) -> dict[str, str] | None:
    if not reference:
        return None
    kind, _, source_id = reference.partition("/")
    return {"reference": refer(kind, source_id)}


def to_fhir(kind: str, row: sqlite3.Row, kt13_base: str, refer: Refer, organization: str | None,
            origin: str | None, endpoint: str | None = None) -> dict[str, Any]:
    """The R4 resource for a staged row (a resource, or an activity for a Task). `endpoint` is the Endpoint of
    the application that sent it, which offers an ActivityDefinition (None when it is not in the domain)."""
    mark = {"use": "temp", "system": migration_system(kind),
            "value": kt13_reference(kt13_base, kind, row["source_id"])}
    if kind == "Task":
        patient = {"reference": refer("Patient", row["patient"])}
        resource: dict[str, Any] = {
            "resourceType": "Task", "identifier": [mark], "status": ACTIVITY_STATUS[row["status"]], "intent": "plan",
            "for": patient, "owner": _ref(refer, row["performer"]) or patient,
            "extension": [{"url": INSTANTIATES,
                           "valueReference": {"reference": refer("ActivityDefinition", row["definition"])}}]}
        if row["practitioner"]:
            resource["requester"] = {"reference": refer("Practitioner", row["practitioner"])}
        if row["period"]:  # KT2Task prohibits restriction: the planned period is the execution period
            resource["executionPeriod"] = orjson.loads(row["period"])
    else:
        body = orjson.loads(row["body"])
        resource = {"resourceType": kind, "identifier": [*body.get("identifier", []), mark]}
        resource.update({k: body[k] for k in COPIED.get(kind, ()) if k in body})
        if kind == "Patient":
            resource["active"] = True
            if organization:
                resource["managingOrganization"] = {"reference": organization}
        elif kind == "RelatedPerson":
            resource["active"] = True
            resource["patient"] = _ref(refer, body["patient"]["reference"])
        elif kind == "CareTeam":
            resource["status"] = "active"
            if body.get("subject"):
                resource["subject"] = _ref(refer, body["subject"]["reference"])
            resource["participant"] = [{"member": _ref(refer, p["member"]["reference"])} for p in body["participant"]]
        elif kind == "ActivityDefinition":
            resource["status"] = "retired" if body.get("isArchived") else \
                "active" if body.get("isActive", True) else "draft"
            if endpoint:
                resource["extension"] = [{"url": ENDPOINT_EXTENSION, "valueReference": {"reference": endpoint}}]
        elif kind == "Practitioner":
            resource["active"] = True
    if origin:
        resource["extension"] = [*resource.get("extension", []),
                                 {"url": RESOURCE_ORIGIN, "valueReference": {"reference": origin}}]
    return declared(resource)


def migration_mark(resource: dict[str, Any]) -> str | None:
    """The KT 1.3 reference a migrated resource carries (None for anything else)."""
    return next((i["value"] for i in resource.get("identifier", [])
                 if str(i.get("system", "")).startswith(MIGRATION_SYSTEM_BASE)), None)
