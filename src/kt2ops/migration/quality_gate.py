"""The Q gate's read-only checks: Q.1 error rate, Q.2 counts, hash totals and content, Q.3 acceptance smoke
test and capacity at the expected peak; and Q.10's check that every application reaches its data."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kt2ops.migration.capacity import judge_capacity
from kt2ops.migration.client import FhirClient, FhirError
from kt2ops.migration.content import SOURCE_FACTS, SourceFacts, target_facts
from kt2ops.migration.content import differences as content_differences
from kt2ops.migration.mapping import kt13_reference, migrated
from kt2ops.migration.stage import TYPES_IN_ORDER
from kt2ops.migration.target import Target
from kt2ops.migration.totals import SOURCE_TOTALS, Totals, target_counts, target_totals

# What the domain's applications look up once it is open: the capacity load's mix.
LOAD_TYPES = ("ActivityDefinition", "Patient", "Practitioner", "Task")
LOAD_MARKS = 1000  # resources per type the load cycles through (more than it reads at the lab's peak)


@dataclass
class Check:
    id: str
    title: str
    met: bool
    figures: dict[str, Any]

    def line(self) -> str:
        shown = ", ".join(f"{k} {v}" for k, v in self.figures.items())
        return f"{self.id} {self.title}: {'met' if self.met else 'UNMET'} ({shown})"


def quality_checks(work: Path, doc: dict[str, Any], client: FhirClient, load_seconds: float = 10,
                   p95_limit_ms: float = 500, load_attempts: int = 2, rate_limit: float | None = None) -> list[Check]:
    """The Q gate: the data checks, the acceptance smoke test and, when the domain's success criteria
    give a peak, the capacity check. `rate_limit`: what the target's ingress lets this machine send per
    second (None when it is exempt): the peak comes from many addresses in production, so one address
    under a lower limit cannot show it."""
    source = Totals.open(work / SOURCE_TOTALS)
    try:
        checks = data_checks(work, source, doc, client)
        checks.append(smoke(client, source.marks("Task", 20)))
        searched = {kind: source.marks(kind, LOAD_MARKS) for kind in LOAD_TYPES}
    finally:
        source.release()
    peak = doc["migration"]["success_criteria"].get("peak_requests_per_second")
    if peak and rate_limit and peak > rate_limit:
        checks.append(Check("Q.3", f"capacity at the expected peak ({peak} requests/s)", False, {
            "ingress_limit_per_address": rate_limit, "reason": "the ingress lets this machine send "
            f"{rate_limit:g} requests/s: exempt it for the migration window (runbook P.8L) to measure the peak"}))
    elif peak:
        request = capacity_request(client, searched)
        client.token()  # the load measures the service, not the first token request
        met, figures = judge_capacity(request, float(peak), load_seconds, p95_limit_ms, load_attempts)
        checks.append(Check("Q.3", f"capacity at the expected peak ({peak} requests/s for {load_seconds:g} s)",
                            met, figures))
    return checks


def capacity_request(client: FhirClient, marks: dict[str, list[str]]) -> Callable[[int], int]:
    """The capacity load's request number `index`: an application's read over what was migrated, looking up
    the next resource type's next resource (of `marks`, type -> KT 1.3 references) by its KT 1.3 reference
    (reads only, so the hash totals stay what Q.2 measured)."""
    searched = {kind: marks[kind] for kind in LOAD_TYPES if marks.get(kind)} or {"Patient": ["none"]}
    kinds = list(searched)

    def request(index: int) -> int:
        kind = kinds[index % len(kinds)]
        mark = searched[kind][index // len(kinds) % len(searched[kind])]
        return client.call("GET", kind, params={"identifier": migrated(kind, mark)}).status_code

    return request


def smoke(client: FhirClient, task_marks: list[str]) -> Check:
    """Production acceptance smoke test through the API: migrated tasks are found by their KT 1.3
    reference, and every reference they carry reads back."""
    problems: list[str] = []
    read = 0
    for mark in task_marks:
        found = client.call("GET", "Task", params={"identifier": migrated("Task", mark)})
        entries = found.json().get("entry", []) if found.status_code == 200 else []
        if len(entries) != 1:
            problems.append(f"Task {mark}: {len(entries)} found (HTTP {found.status_code})")
            continue
        task = entries[0]["resource"]
        references = [task["for"]["reference"], *[e["valueReference"]["reference"] for e in task.get("extension", [])]]
        if task.get("requester"):
            references.append(task["requester"]["reference"])
        for reference in references:
            answer = client.call("GET", reference)
            read += 1
            if answer.status_code != 200:
                problems.append(f"Task {mark} -> {reference}: HTTP {answer.status_code}")
    return Check("Q.3", "acceptance smoke test: migrated tasks and what they reference read back",
                 bool(task_marks) and not problems,
                 {"tasks": len(task_marks), "references_read": read,
                  **({"problems": problems[:10]} if problems else {})})


def data_checks(work: Path, source: Totals, doc: dict[str, Any], client: FhirClient) -> list[Check]:
    """Q.1 error rate against K.4, and counts and hash totals of the source (P.8's) against the target."""
    errors = json.loads((work / "errors.json").read_text())
    criteria = doc["migration"]["success_criteria"]
    failed = {kt13_reference(doc["kt13"]["fhir_base"], e["type"], e["source_id"]) for e in errors}
    counts = target_counts(client)
    lacking: list[str] = []
    with tempfile.TemporaryDirectory(dir=work) as scratch:
        expected = source.without(failed, Path(scratch) / "expected.sqlite")  # the source without the error list
        target = target_totals(client, Path(scratch) / "target.sqlite", lacking)
        differences = expected.differences(target)
        expected.release()
        target.release()
    source_counts = source.counts
    total = sum(source_counts.values())
    rate = 100.0 * len(errors) / total if total else 0.0
    must_match = criteria.get("counts_must_match", [])
    count_problems = [f"{k} {counts[k]} of {source_counts.get(k, 0)}" for k in TYPES_IN_ORDER
                      if counts[k] != (source_counts.get(k, 0) if k in must_match else expected.counts[k])]
    return [
        Check("Q.1", "error rate within the success criteria (K.4)", rate <= criteria["max_error_rate_percent"],
              {"errors": len(errors), "resources": total, "error_rate_percent": round(rate, 3),
               "max_percent": criteria["max_error_rate_percent"]}),
        Check("Q.2", "counts per type (FHIR _summary=count)", not count_problems,
              {"target": counts, "source": source_counts, "must_match": must_match,
               **({"unmet": count_problems} if count_problems else {})}),
        Check("Q.2", "hash totals of the migrated content",
              not differences and expected.hash_total == target.hash_total,
              {"source_hash_total": expected.hash_total, "target_hash_total": target.hash_total,
               **({"differences": differences} if differences else {})}),
        Check("Q.2", "every migrated resource declares its KT2 profile and names the Device of its publisher",
              not lacking, {"read_back": sum(target.counts.values()), "lacking": len(lacking),
                            **({"first": lacking[:10]} if lacking else {})}),
        content_check(work, client, sum(counts.values())),
    ]


def content_check(work: Path, client: FhirClient, migrated: int) -> Check:
    """Q.2 by the KT 1.3 messages themselves: every migrated resource's facts as KT 1.3 stated them."""
    title = "content as KT 1.3 states it (identifiers, names, birth date, gender, links, task status and owner)"
    path = work / SOURCE_FACTS
    if not path.exists():
        return Check("Q.2", title, False, {"missing": f"{path}: run P.8 again (written from the export)"})
    facts = SourceFacts(path)
    try:
        compared, differing, found = content_differences(facts, target_facts(client))
    finally:
        facts.close()
    # Every resource is compared; the first differing ones are listed (a broken mapping differs everywhere).
    return Check("Q.2", title, compared == migrated and not differing,
                 {"compared": compared, "migrated": migrated,
                  **({"differing": differing, "differences": found} if differing else {})})


def applications_reach(target: Target, doc: dict[str, Any]) -> list[Check]:
    """Q.10's verification: every application of the domain gets a token on the target and reads what its
    role lets it read (the count it sees is reported)."""
    roles = {r["id"]: r for r in doc["roles"]}
    checks = []
    for app in doc["applications"]:
        readable = [p["resource"] for p in roles[app["role"]]["permissions"] if "read" in p["operations"]]
        client = target.client(doc["domain"]["id"], app["id"])
        try:
            seen = {kind: client.count(kind) for kind in readable}
            checks.append(Check("Q.10", f"{app['id']} reaches KT 2.0", True, seen))
        except (FhirError, OSError) as error:
            checks.append(Check("Q.10", f"{app['id']} reaches KT 2.0", False, {"error": str(error)}))
        finally:
            client.close()
    return checks
