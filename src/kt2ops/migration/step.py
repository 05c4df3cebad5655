"""The migration as runbook steps: P.8 (fetch the domain's KT 1.3 export, validate it, replay it) and the
Q gate's data checks, with their reports in `<inventory>/.runbook/migration/<domain>/<environment>/`.

Personal data (the export and its staging) lives there only while P.8 runs: a finished run keeps the
reports, the checkpoint (ids only) and the source's hash totals, and removes the rest."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kt2ops.migration.capacity import judge_capacity
from kt2ops.migration.client import FhirClient, FhirError
from kt2ops.migration.content import differences as content_differences
from kt2ops.migration.content import source_facts, target_facts
from kt2ops.migration.mapping import kt13_reference, migrated
from kt2ops.migration.migrate import MIGRATION_APP_ID, Checkpoint, Migration, Progress, Result
from kt2ops.migration.profile_check import check_profiles
from kt2ops.migration.stage import TYPES_IN_ORDER, Staging
from kt2ops.migration.totals import Totals, source_totals, target_counts, target_totals
from kt2ops.runbook.remote import Remote

KT13_CONTRACT = "http://127.0.0.1:8090/_contract"
# What the domain's applications look up once it is open: the capacity load's mix.
LOAD_TYPES = ("ActivityDefinition", "Patient", "Practitioner", "Task")
EXPORT_ON_HOST = ("python3 -c 'import shutil, sys, urllib.request; "
                  "shutil.copyfileobj(urllib.request.urlopen(sys.argv[1], timeout=600), sys.stdout.buffer)' {url}")


class ValidationFailed(RuntimeError):
    """The export has blocking findings: nothing was imported."""


@dataclass(frozen=True)
class Target:
    """A KT 2.0 environment as the migration reaches it: public name, where to connect, and its directory
    on the control machine's PKI (the CA, and per domain the applications' keys)."""

    environment: str
    base_url: str
    connect_host: str | None
    pki: Path

    def client(self, domain: str, application: str = MIGRATION_APP_ID) -> FhirClient:
        key = (self.pki / "apps" / domain / f"{application}.key").read_bytes()
        return FhirClient(self.base_url, domain, application, key, str(self.pki / "ca.crt"),
                          connect_host=self.connect_host)


def migration_dir(inventory: Path, domain: str, environment: str) -> Path:
    """Where a domain's migration to an environment keeps its reports and checkpoint."""
    return inventory / ".runbook" / "migration" / domain / environment


def workdir(inventory: Path, domain: str, environment: str) -> Path:
    """The migration directory, made private (0700) for the personal data P.8 and M.2 hold there briefly."""
    path = migration_dir(inventory, domain, environment)
    path.mkdir(parents=True, exist_ok=True)
    for folder in (inventory / ".runbook", path):
        os.chmod(folder, 0o700)
    return path


def fetch_export(kt13: Remote, kt13_domain: str, dest: Path) -> str:
    """Stream the domain's export from the KT 1.3 server (its loopback contract, over SSH) into `dest`
    (0600); returns its SHA-256."""
    command = EXPORT_ON_HOST.format(url=f"{KT13_CONTRACT}/domains/{kt13_domain}/export")
    digest = hashlib.sha256()
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    proc = kt13.stream(command, write=False)
    with os.fdopen(fd, "wb") as handle:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(1 << 20):
            digest.update(chunk)
            handle.write(chunk)
    kt13.finish(proc, command)
    return digest.hexdigest()


def _write_json(path: Path, data: Any) -> str:
    text = json.dumps(data, indent=1, sort_keys=True)
    path.write_text(text + "\n")
    return hashlib.sha256((text + "\n").encode()).hexdigest()


def validate(export: Path, work: Path, doc: dict[str, Any], reference: datetime | None = None) -> tuple[Staging, dict]:
    """Stage and validate the export; writes validation.json and validation.txt. Raises ValidationFailed
    (after writing the reports) when a finding is blocking."""
    reference = reference or datetime.now(UTC)
    staging = Staging.build(export, work / "staging.sqlite", doc["migration"]["scope"], reference)
    check_profiles(staging, doc)
    findings = staging.findings()
    blocking = [f for f in findings if f["severity"] == "blocking"]
    report = {"domain": doc["domain"]["id"], "kt13_domain": doc["kt13"]["domain"], "reference": reference.isoformat(),
              "blocking": len(blocking), "non_blocking": len(findings) - len(blocking),
              "in_scope": staging.in_scope_counts(), "out_of_scope": staging.out_of_scope(), "findings": findings}
    report["sha256"] = _write_json(work / "validation.json", report)
    (work / "validation.txt").write_text(readable_validation(report))
    if blocking:
        staging.close()
        raise ValidationFailed(f"{len(blocking)} blocking finding(s) in the KT 1.3 export of {doc['kt13']['domain']}, "
                               f"nothing imported; first: {_finding_line(blocking[0])}; report: {work}/validation.txt")
    return staging, report


def _finding_line(finding: dict[str, Any]) -> str:
    where = f"line {finding['line']}" if finding["line"] else "export"
    message = f" (message {finding['message_id']})" if finding["message_id"] else ""
    return f"{where}{message}: [{finding['code']}] {finding['text']}"


def readable_validation(report: dict[str, Any]) -> str:
    lines = [f"Validation of the KT 1.3 export of {report['kt13_domain']} for {report['domain']} "
             f"(scope reference {report['reference']})",
             f"blocking: {report['blocking']}, non-blocking: {report['non_blocking']}",
             "in scope: " + ", ".join(f"{k} {v}" for k, v in report["in_scope"].items()),
             "out of scope: " + (", ".join(f"{k} {v}" for k, v in report["out_of_scope"].items()) or "none"), ""]
    for severity in ("blocking", "non-blocking"):
        lines += [f"{severity.upper()}  {_finding_line(f)}" for f in report["findings"] if f["severity"] == severity]
    return "\n".join(lines) + "\n"


def migrate(export: Path, work: Path, doc: dict[str, Any], target: Target, batch_size: int = 200,
            progress: Progress | None = None, reference: datetime | None = None,
            concurrency: int = 4) -> dict[str, Any]:
    """P.8 / M.2: validate, then replay; writes errors.json, source-totals.json and migration.json and
    removes the staging and the export. Resumes from the checkpoint of an interrupted run."""
    staging, validation = validate(export, work, doc, reference)
    checkpoint = Checkpoint(work / "checkpoint.sqlite")
    client = target.client(doc["domain"]["id"])
    try:
        result: Result = Migration(staging, checkpoint, client, doc["kt13"]["fhir_base"], batch_size, progress,
                                   concurrency).run()
        apps = [a["id"] for a in doc["applications"]]
        source = source_totals(staging, doc["kt13"]["fhir_base"], apps)
        _write_json(work / "source-totals.json", {**source.as_dict(), "marks": source.marks})
        # Q.2's content check needs what the KT 1.3 messages state; the export itself goes below.
        _write_json(work / "source-facts.json", source_facts(export, doc["kt13"]["fhir_base"]))
    finally:
        staging.close()
        checkpoint.close()
        client.close()
    migrated = sum(result.migrated.values())
    summary = {"domain": doc["domain"]["id"], "environment": target.environment,
               "finished": datetime.now(UTC).isoformat(), "in_scope": validation["in_scope"],
               "migrated": result.migrated, "bundles": result.sent,
               "errors": len(result.errors), "error_rate_percent": round(result.error_rate_percent, 3),
               "seconds": round(result.seconds, 2), "validation_sha256": validation["sha256"],
               "resources_per_second": round(migrated / result.seconds, 1) if result.seconds else None}
    summary["errors_sha256"] = _write_json(work / "errors.json", result.errors)
    summary["sha256"] = _write_json(work / "migration.json", summary)
    (work / "staging.sqlite").unlink(missing_ok=True)
    export.unlink(missing_ok=True)
    return summary


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
                   p95_limit_ms: float = 500, load_attempts: int = 2) -> list[Check]:
    """The Q gate: the data checks, the acceptance smoke test and, when the domain's success criteria
    give a peak, the capacity check."""
    stored = json.loads((work / "source-totals.json").read_text())
    checks = data_checks(work, stored, doc, client)
    marks = stored["marks"]
    checks.append(smoke(client, sorted(marks.get("Task", {}))[:20]))
    peak = doc["migration"]["success_criteria"].get("peak_requests_per_second")
    if peak:
        request = capacity_request(client, marks)
        client.token()  # the load measures the service, not the first token request
        met, figures = judge_capacity(request, float(peak), load_seconds, p95_limit_ms, load_attempts)
        checks.append(Check("Q.3", f"capacity at the expected peak ({peak} requests/s for {load_seconds:g} s)",
                            met, figures))
    return checks


def capacity_request(client: FhirClient, marks: dict[str, dict[str, str]]) -> Callable[[int], int]:
    """The capacity load's request number `index`: an application's read over what was migrated, looking up
    the next resource type's next resource by its KT 1.3 reference (reads only, so the hash totals stay what
    Q.2 measured)."""
    searched = {kind: sorted(marks[kind]) for kind in LOAD_TYPES if marks.get(kind)} or {"Patient": ["none"]}
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


def data_checks(work: Path, stored: dict[str, Any], doc: dict[str, Any], client: FhirClient) -> list[Check]:
    """Q.1 error rate against K.4, and counts and hash totals of source (`stored`: P.8's source-totals.json)
    against target."""
    errors = json.loads((work / "errors.json").read_text())
    criteria = doc["migration"]["success_criteria"]
    failed = {kt13_reference(doc["kt13"]["fhir_base"], e["type"], e["source_id"]) for e in errors}
    expected = Totals()  # what the target must hold: the source without the error list
    for kind, marks in stored["marks"].items():
        for mark, digest in marks.items():
            if mark not in failed:
                expected.add(kind, mark, digest)
    expected.close()
    counts = target_counts(client)
    target = target_totals(client)
    source_counts = stored["counts"]
    total = sum(source_counts.values())
    rate = 100.0 * len(errors) / total if total else 0.0
    must_match = criteria.get("counts_must_match", [])
    count_problems = [f"{k} {counts[k]} of {source_counts.get(k, 0)}" for k in TYPES_IN_ORDER
                      if counts[k] != (source_counts.get(k, 0) if k in must_match else expected.counts[k])]
    differences = expected.differences(target)
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
        content_check(work, client, sum(counts.values())),
    ]


def content_check(work: Path, client: FhirClient, migrated: int) -> Check:
    """Q.2 by the KT 1.3 messages themselves: every migrated resource's facts as KT 1.3 stated them."""
    title = "content as KT 1.3 states it (identifiers, names, birth date, gender, links, task status and owner)"
    facts = work / "source-facts.json"
    if not facts.exists():
        return Check("Q.2", title, False, {"missing": f"{facts}: run P.8 again (written from the export)"})
    compared, differing, found = content_differences(json.loads(facts.read_text()), target_facts(client))
    # Every resource is compared; the first differing ones are listed (a broken mapping differs everywhere).
    return Check("Q.2", title, compared == migrated and not differing,
                 {"compared": compared, "migrated": migrated,
                  **({"differing": differing, "differences": found} if differing else {})})


def throttled(report: Callable[[str], None], every: float = 2.0) -> Progress:
    """A progress callback that reports a line per type at most every `every` seconds, with rate and ETA."""
    started: dict[str, tuple[float, int]] = {}
    last = [0.0]

    def progress(kind: str, done: int, total: int) -> None:
        now = time.monotonic()
        first = started.setdefault(kind, (now, done))
        if now - last[0] < every and done < total:
            return
        last[0] = now
        rate = (done - first[1]) / (now - first[0]) if now > first[0] else 0.0
        eta = f", ETA {int((total - done) / rate)} s" if rate and done < total else ""
        report(f"P.8 {kind}: {done}/{total} ({100 * done // total if total else 100}%), {rate:.0f}/s{eta}")

    return progress


def target_of(hostvars: dict[str, Any], environment: str, pki_dir: Path) -> Target:
    """The target as an inventory host describes it (kt2_env.service_hostname, ansible_host)."""
    name = hostvars["kt2_env"]["service_hostname"]
    return Target(environment, f"https://{name}", hostvars.get("ansible_host"), pki_dir / environment)


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


def remove_migrated(client: FhirClient, batch_size: int = 200) -> dict[str, int]:
    """Rollback R's first part: delete every resource carrying the migration identifier from the target,
    dependents first, in transaction Bundles. Returns the counts removed per type."""
    removed: dict[str, int] = {}
    for kind in reversed(TYPES_IN_ORDER):
        # Collect the ids first: deleting while paging would shift the pages.
        ids = [r["id"] for r in client.search_all(kind, identifier=migrated(kind))]
        for start in range(0, len(ids), batch_size):
            response = client.transaction([{"request": {"method": "DELETE", "url": f"{kind}/{i}"}}
                                           for i in ids[start:start + batch_size]])
            if response.status_code != 200:
                raise FhirError(f"R removing migrated {kind}", response)
        removed[kind] = len(ids)
    return removed
