"""The tests' own reading of a migration: what KT 1.3 holds of a domain, parsed here from its export without
kt2ops' reader (kt2ops.migration.source, content), and a sample of it compared element by element with what
KT 2.0 serves, by rules written here from the migration guide (DOMAIN.md). A fault in kt2ops' reader or
content check cannot hide behind the same fault in the oracle."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

ACTIVITY = "CarePlanActivity"  # the guide's made-up KT 1.3 type of a care plan activity
CLOSED = {"Completed", "Cancelled", "Expired"}  # KT 1.3 activity statuses that close it
# The guide's vocabulary: KT 1.3 activity status -> KT 2.0 Task.status.
TASK_STATUS = {"Available": "ready", "Planned": "requested", "InProgress": "in-progress", "OnHold": "on-hold",
               "Completed": "completed", "Cancelled": "cancelled", "Expired": "failed"}
MIGRATION = "http://koppeltaal.nl/migration/identifier/"
PERSON = ("name", "gender", "birthDate", "telecom", "address")
KT2_TYPES = {"Patient": "Patient", "Practitioner": "Practitioner", "RelatedPerson": "RelatedPerson",
             "CareTeam": "CareTeam", "ActivityDefinition": "ActivityDefinition", ACTIVITY: "Task"}


def kt13_holdings(lines: Iterable[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per KT 1.3 type, id -> the newest version its messages state; care plan activities under ACTIVITY, each
    with its client, its care plan's practitioner and its newest status."""
    held: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for line in lines:
        if not line.strip():
            continue
        resource = json.loads(line)["bundle"]["entry"][1]["resource"]  # entry 0 is the MessageHeader
        kind = resource["resourceType"]
        if kind == "CarePlan":
            for stale in [a for a, v in held[ACTIVITY].items() if v["carePlan"] == resource["id"]]:
                del held[ACTIVITY][stale]
            practitioner = next((m["reference"] for m in resource.get("careTeam", [])
                                 if m["reference"].startswith("Practitioner/")), None)
            for activity in resource.get("activity", []):
                held[ACTIVITY][activity["id"]] = {**activity, "carePlan": resource["id"],
                                                  "patient": resource["patient"]["reference"],
                                                  "practitioner": practitioner}
        elif kind == "CarePlanActivityStatus":
            if resource["activity"] in held[ACTIVITY]:
                held[ACTIVITY][resource["activity"]]["status"] = resource["activityStatus"]
        elif kind != "UserMessage":
            held[kind][resource["id"]] = resource
    return held


def closed_clients(held: dict[str, dict[str, dict[str, Any]]]) -> set[str]:
    """Clients (Patient/<id>) whose activities are all closed: K.1 open_only leaves them out."""
    statuses: dict[str, set[str]] = defaultdict(set)
    for activity in held[ACTIVITY].values():
        statuses[activity["patient"]].add(activity["status"])
    return {patient for patient, found in statuses.items() if found <= CLOSED}


def in_scope_counts(held: dict[str, dict[str, dict[str, Any]]], open_only: bool) -> dict[str, int]:
    """Per KT 2.0 type, how many the domain's scope migrates: with open_only, a closed client goes with its
    activities, related persons and care teams."""
    closed = closed_clients(held) if open_only else set()

    def client_of(kind: str, resource: dict[str, Any]) -> str | None:
        if kind == "Patient":
            return f"Patient/{resource['id']}"
        if kind == "RelatedPerson":
            return resource["patient"]["reference"]
        if kind == "CareTeam":
            return (resource.get("subject") or {}).get("reference")
        return resource.get("patient")  # an activity's; None for practitioners and definitions

    return {KT2_TYPES[kind]: sum(client_of(kind, r) not in closed for r in held[kind].values())
            for kind in KT2_TYPES}


class Kt2Side:
    """KT 2.0's resources found by the migration identifier of their KT 1.3 link."""

    def __init__(self, client, kt13_base: str) -> None:
        self.client, self.kt13_base, self.found = client, kt13_base, {}

    def get(self, reference: str) -> dict[str, Any] | None:
        """The KT 2.0 resource migrated from a KT 1.3 reference (e.g. Patient/x, CarePlanActivity/y)."""
        if reference not in self.found:
            kind = reference.split("/")[0]
            hits = list(self.client.search_all(KT2_TYPES[kind], identifier=f"{MIGRATION}{kind}|"
                                                                              f"{self.kt13_base}/{reference}"))
            assert len(hits) <= 1, f"{reference} migrated {len(hits)} times"
            self.found[reference] = hits[0] if hits else None
        return self.found[reference]

    def ref(self, reference: str | None) -> str | None:
        """The KT 2.0 reference a KT 1.3 reference must have become."""
        if not reference:
            return None
        found = self.get(reference)
        return f"{found['resourceType']}/{found['id']}" if found else f"not migrated: {reference}"


def kt2_counts(client) -> dict[str, int]:
    """Per KT 2.0 type, how many resources carry a migration identifier (FHIR's _summary=count)."""
    return {kt2: client.count(kt2, identifier=f"{MIGRATION}{kind}|") for kind, kt2 in KT2_TYPES.items()}


def _business(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in resource.get("identifier", []) if not i.get("system", "").startswith(MIGRATION)]


def sample_differences(held: dict[str, dict[str, dict[str, Any]]], kt2: Kt2Side, clients: int = 12,
                       seed: int = 1) -> tuple[int, list[str]]:
    """How many resources of a sample of clients (each with their relatives, care teams, tasks and what those
    refer to) were compared, and every element that differs, named with the KT 1.3 reference."""
    patients = sorted(held["Patient"])
    sample = random.Random(seed).sample(patients, min(clients, len(patients)))
    wanted: list[tuple[str, dict[str, Any]]] = []
    for pid in sample:
        ref = f"Patient/{pid}"
        patient = held["Patient"][pid]
        wanted.append((ref, {"identifier": _business(patient), **{e: patient.get(e) for e in PERSON}}))
        for rid, person in held["RelatedPerson"].items():
            if person["patient"]["reference"] == ref:
                wanted.append((f"RelatedPerson/{rid}", {"identifier": _business(person), "patient": kt2.ref(ref),
                                                        "relationship": person["relationship"],
                                                        **{e: person.get(e) for e in PERSON}}))
        for tid, team in held["CareTeam"].items():
            if (team.get("subject") or {}).get("reference") == ref:
                members = sorted(str(kt2.ref(p["member"]["reference"])) for p in team.get("participant", []))
                wanted.append((f"CareTeam/{tid}", {"identifier": _business(team), "name": team.get("name"),
                                                   "subject": kt2.ref(ref), "member": members}))
        for aid, activity in held[ACTIVITY].items():
            if activity["patient"] == ref:
                performer = (activity.get("performer") or {}).get("reference")
                definition = held["ActivityDefinition"][activity["definition"]["reference"].split("/")[1]]
                wanted.append((f"{ACTIVITY}/{aid}", {
                    "for": kt2.ref(ref), "owner": kt2.ref(performer or ref), "status": TASK_STATUS[activity["status"]],
                    "requester": kt2.ref(activity["practitioner"]), "executionPeriod": activity.get("period"),
                    "instantiates": kt2.ref(activity["definition"]["reference"])}))
                status = "retired" if definition.get("isArchived") else \
                    "active" if definition.get("isActive", True) else "draft"
                wanted.append((activity["definition"]["reference"], {
                    "identifier": _business(definition), "url": definition["url"], "title": definition["title"],
                    "description": definition.get("description"), "status": status}))
    differences, compared = [], set()
    for reference, expected in wanted:
        if reference in compared:
            continue
        compared.add(reference)
        found = kt2.get(reference)
        if found is None:
            differences.append(f"{reference}: not on KT 2.0")
            continue
        actual = {**{e: found.get(e) for e in expected}, "identifier": _business(found)}
        if "member" in expected:
            actual["member"] = sorted(f"{p['member']['reference']}" for p in found.get("participant", []))
        for element in ("for", "owner", "requester", "patient", "subject"):
            if element in expected:
                actual[element] = (found.get(element) or {}).get("reference")
        if "instantiates" in expected:
            actual["instantiates"] = next((e["valueReference"]["reference"] for e in found.get("extension", [])
                                           if e["url"].endswith("/instantiates")), None)
        differences += [f"{reference}: {e}: KT 1.3 {v!r}, KT 2.0 {actual.get(e)!r}"
                        for e, v in expected.items() if actual.get(e) != v]
    return len(compared), differences
