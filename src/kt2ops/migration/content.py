"""Q.2's content check, independent of the migration's mapping: the facts a care provider would check of
each migrated resource (identifiers, names, birth date, gender, who it belongs to, a task's status, owner
and activity), taken once from the KT 1.3 messages as they state them and once from the KT 2.0 resources
read back through FHIR, then compared per element.

Nothing here uses kt2ops.migration.mapping or the staging, only the export reader: the rules below are
written from the migration guide (DOMAIN.md) on their own, so a mapping that drops or alters a field shows
up as a difference naming the resource and the element, however the hash totals (built by the mapping on
both sides) agree."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from kt2ops.migration.client import FhirClient
from kt2ops.migration.source import EVENT_RESOURCE, ExportLineError, read_export

# The migration guide's vocabulary where KT 1.3 and KT 2.0 name a fact differently.
TASK_STATUS = {"Available": "ready", "Planned": "requested", "InProgress": "in-progress", "OnHold": "on-hold",
               "Completed": "completed", "Cancelled": "cancelled", "Expired": "failed"}
# The guide's temporary identifier (DOMAIN.md): a system per KT 1.3 type under this base, use temp.
MIGRATION_IDENTIFIER = "http://koppeltaal.nl/migration/identifier/"
INSTANTIATES = "http://vzvz.nl/fhir/StructureDefinition/instantiates"  # KT2Task (the guide)
SOURCE_FACTS = "source-facts.sqlite"  # written by P.8 from the export, read by the Q gate
KINDS = ("Practitioner", "Patient", "RelatedPerson", "CareTeam", "ActivityDefinition", "Task")

Facts = dict[str, Any]


def _link(kt13_base: str, reference: str | None) -> str | None:
    """A KT 1.3 reference (Patient/x) as the resource's KT 1.3 link under the domain's KT 1.3 FHIR base (the
    value of the migrated resource's migration identifier)."""
    return f"{kt13_base}/{reference}" if reference else None


def _identifiers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in resource.get("identifier", []) if not str(i.get("system", "")).startswith(MIGRATION_IDENTIFIER)]


# Per KT 2.0 type, the elements the guide has the migration carry over as KT 1.3 states them (the same element,
# unchanged); CARRIED below adds those it derives. The README's element table lists both.
AS_STATED = {
    "Patient": ("name", "gender", "birthDate", "telecom", "address"),
    "Practitioner": ("name", "telecom"),
    "RelatedPerson": ("name", "gender", "birthDate", "telecom", "address", "relationship"),
    "CareTeam": ("name",),
    "ActivityDefinition": ("url", "title", "description"),
}
DERIVED = {
    "Patient": ("identifier",), "Practitioner": ("identifier",), "RelatedPerson": ("identifier", "patient"),
    "CareTeam": ("identifier", "subject", "member"), "ActivityDefinition": ("identifier", "status"),
    "Task": ("for", "owner", "status", "activity", "requester", "executionPeriod"),
}
CARRIED = {kind: (*DERIVED[kind], *AS_STATED.get(kind, ())) for kind in DERIVED}


class SourceFacts(Mapping[str, Facts]):
    """KT 1.3 link -> facts, kept in a SQLite file (a large domain's worth does not fit in memory)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("CREATE TABLE IF NOT EXISTS facts (link TEXT PRIMARY KEY, body BLOB) WITHOUT ROWID")

    def __getitem__(self, link: str) -> Facts:
        row = self.db.execute("SELECT body FROM facts WHERE link = ?", (link,)).fetchone()
        if row is None:
            raise KeyError(link)
        return orjson.loads(row[0])

    def __iter__(self) -> Iterator[str]:
        return (link for (link,) in self.db.execute("SELECT link FROM facts ORDER BY link"))

    def __len__(self) -> int:
        return self.db.execute("SELECT count(*) FROM facts").fetchone()[0]

    def put(self, link: str, facts: Facts) -> None:
        self.db.execute("INSERT OR REPLACE INTO facts VALUES (?, ?)", (link, orjson.dumps(facts)))

    def close(self) -> None:
        self.db.close()


def source_facts(export: Path, kt13_base: str, path: Path) -> SourceFacts:
    """KT 1.3 link -> facts, from the export in received order, kept at `path` (replaced): the newest message
    about a resource wins; an activity's status is the newest of its care plan and its status updates."""
    path.unlink(missing_ok=True)
    facts = SourceFacts(path)
    facts.db.execute("BEGIN")
    for message in read_export(export):
        kind = None if isinstance(message, ExportLineError) else EVENT_RESOURCE.get(message.event)
        if kind is None:
            continue  # lines that are not messages, and events not migrated, are validation's findings
        resource = message.resource
        link = _link(kt13_base, f"{kind}/{resource.get('id')}")
        if kind == "CarePlan":
            patient = _link(kt13_base, resource["patient"]["reference"])
            requester = next((m["reference"] for m in resource.get("careTeam") or []
                              if m.get("reference", "").startswith("Practitioner/")), None)
            for activity in resource.get("activity", []):
                performer = _link(kt13_base, (activity.get("performer") or {}).get("reference"))
                facts.put(_link(kt13_base, f"CarePlanActivity/{activity['id']}"), {
                    "for": patient, "owner": performer or patient, "status": TASK_STATUS.get(activity["status"]),
                    "activity": _link(kt13_base, activity["definition"]["reference"]),
                    "requester": _link(kt13_base, requester), "executionPeriod": activity.get("period")})
        elif kind == "CarePlanActivityStatus":  # the activity's newest status
            task_link = _link(kt13_base, f"CarePlanActivity/{resource['activity']}")
            task = facts.get(task_link)
            if task is not None:
                facts.put(task_link, {**task, "status": TASK_STATUS.get(resource["activityStatus"])})
        else:
            facts.put(link, _stated(kind, resource, lambda ref: _link(kt13_base, ref)))
    facts.db.execute("COMMIT")
    return facts


def write_source_facts(export: Path, kt13_base: str, path: Path) -> None:
    """`source_facts` written to `path` and closed (what a process of its own can hand back)."""
    source_facts(export, kt13_base, path).close()


def _references(kind: str, resource: dict[str, Any], link: Callable[[str | None], str | None]) -> Facts:
    """The references of a person, team or definition, each as the KT 1.3 link of what it points at."""
    if kind == "RelatedPerson":
        return {"patient": link((resource.get("patient") or {}).get("reference"))}
    if kind == "CareTeam":
        return {"subject": link((resource.get("subject") or {}).get("reference")),
                "member": sorted(str(link((p.get("member") or {}).get("reference")))
                                 for p in resource.get("participant", []))}
    return {}


def _carried(kind: str, resource: dict[str, Any], link: Callable[[str | None], str | None]) -> Facts:
    """What a person, team or definition carries on either side: identifiers, elements as stated, references."""
    return {"identifier": _identifiers(resource), **{e: resource.get(e) for e in AS_STATED.get(kind, ())},
            **_references(kind, resource, link)}


def _stated(kind: str, resource: dict[str, Any], link: Callable[[str | None], str | None]) -> Facts:
    """The facts of a KT 1.3 resource as it states them."""
    facts = _carried(kind, resource, link)
    if kind == "ActivityDefinition":
        facts["status"] = "retired" if resource.get("isArchived") else \
            "active" if resource.get("isActive", True) else "draft"
    return facts


def _target_facts(kind: str, resource: dict[str, Any], links: dict[str, str]) -> Facts:
    def link(reference: str | None) -> str | None:
        return links.get(reference, "not migrated: " + reference) if reference else None

    if kind != "Task":
        facts = _carried(kind, resource, link)
        if kind == "ActivityDefinition":
            facts["status"] = resource.get("status")
        return facts
    definition = next((e.get("valueReference") for e in resource.get("extension", []) if e["url"] == INSTANTIATES),
                      None)
    return {"for": link((resource.get("for") or {}).get("reference")),
            "owner": link((resource.get("owner") or {}).get("reference")), "status": resource.get("status"),
            "activity": link((definition or {}).get("reference")),
            "requester": link((resource.get("requester") or {}).get("reference")),
            "executionPeriod": resource.get("executionPeriod")}


def target_facts(client: FhirClient) -> Iterator[tuple[str, str, Facts]]:
    """(kind, KT 1.3 link, facts) of every migrated resource on the target, in reference order."""
    links: dict[str, str] = {}
    for kind in KINDS:
        system = MIGRATION_IDENTIFIER + ("CarePlanActivity" if kind == "Task" else kind)
        for resource in client.search_all(kind, identifier=f"{system}|"):
            link = next(i["value"] for i in resource["identifier"] if i.get("system") == system)
            links[f"{kind}/{resource['id']}"] = link
            yield kind, link, _target_facts(kind, resource, links)


def differences(source: Mapping[str, Facts], target: Iterator[tuple[str, str, Facts]],
                limit: int = 20) -> tuple[int, int, list[str]]:
    """How many target resources were compared, how many of them differ, and the differences of the first
    `limit` that do, each naming the resource and the element with both values."""
    compared, differing, found = 0, 0, []
    for kind, link, facts in target:
        compared += 1
        stated = source.get(link)
        if stated is None:
            mine = [f"{kind} {link}: not in the KT 1.3 export"]
        else:
            mine = [f"{kind} {link}: {element}: KT 1.3 {stated.get(element)!r}, KT 2.0 {value!r}"
                    for element, value in facts.items() if stated.get(element) != value]
        if mine:
            differing += 1
            if differing <= limit:
                found.extend(mine)
    return compared, differing, found
