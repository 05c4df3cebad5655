"""Runbook P.8 (and M.2): fetch the domain's KT 1.3 export, validate it (specification, scope, KT2 profiles,
each application's right to publish what it sent), replay it, with the reports beside it.

Personal data (the export and its staging) lives there only while P.8 runs: a finished run keeps the
reports, the checkpoint (ids only), the source's hash totals and Q.2's source facts (names and birth
dates: Q.10 removes them once the domain is open, migrated_remove with the content), and removes the rest."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kt2ops.errors import Kt2OpsError
from kt2ops.lifeline import end_with_parent
from kt2ops.migration.content import SOURCE_FACTS, write_source_facts
from kt2ops.migration.migrate import Checkpoint, Migration, Progress, Result, bundle_size
from kt2ops.migration.profile_check import check_profiles, check_publishers
from kt2ops.migration.stage import Staging
from kt2ops.migration.target import Target
from kt2ops.migration.totals import SOURCE_TOTALS, Totals
from kt2ops.remote import Remote
from kt2ops.services import contract_url

KT13_CONTRACT = contract_url("kt13_server")
EXPORT_ON_HOST = ("python3 -c 'import shutil, sys, urllib.request; "
                  "shutil.copyfileobj(urllib.request.urlopen(sys.argv[1], timeout=600), sys.stdout.buffer)' {url}")


class ValidationFailed(Kt2OpsError, RuntimeError):
    """The export has blocking findings: nothing was imported."""


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
    """Stage and validate the export; writes validation.json, validation.txt and the source's hash totals.
    Raises ValidationFailed (after writing the reports) when a finding is blocking."""
    reference = reference or datetime.now(UTC)
    staging = Staging.build(export, work / "staging.sqlite", doc["migration"]["scope"], reference)
    check_profiles(staging, doc, work / SOURCE_TOTALS)
    check_publishers(staging, doc)
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


def migrate(export: Path, work: Path, doc: dict[str, Any], target: Target, batch_size: int | None = None,
            progress: Progress | None = None, reference: datetime | None = None,
            concurrency: int = 4, keys: dict[str, bytes] | None = None) -> dict[str, Any]:
    """P.8 / M.2: validate, then replay, each application publishing its own data; writes errors.json,
    source-totals.json and migration.json and removes the staging and the export. Resumes from the
    checkpoint of an interrupted run. `keys` (client id -> private key) runs only those applications' parts
    with the keys given (a supplier's own run); by default every application runs with its key of the PKI.
    Bundles are sized for the target's ingress limit unless `batch_size` says otherwise."""
    # Q.2's content check needs what the KT 1.3 messages state (the export goes below). They are read from the
    # export on their own, so in a process of their own beside the validation they take the core it leaves
    # idle (the server waits for the validation) rather than time after the replay; a killed run ends it too.
    with ProcessPoolExecutor(1, multiprocessing.get_context("fork"), initializer=end_with_parent) as background:
        facts = background.submit(write_source_facts, export, doc["kt13"]["fhir_base"], work / SOURCE_FACTS)
        staging, validation = validate(export, work, doc, reference)
    checkpoint = Checkpoint(work / "checkpoint.sqlite")
    domain = doc["domain"]["id"]
    publishers = {app: target.client(domain, app, key) for app, key in keys.items()} if keys else \
        {app: target.client(domain, app) for app in sorted(staging.senders())}
    try:
        facts.result()  # done when the pool closed; a failure stops P.8 before anything is sent
        result: Result = Migration(staging, checkpoint, publishers, doc["kt13"]["fhir_base"],
                                   batch_size or bundle_size(target.rate_limit), progress, concurrency,
                                   set_origin=not target.stamps_origin).run()
        source = Totals.open(work / SOURCE_TOTALS)  # written by the validation
        source.release()
        _write_json(work / "source-totals.json", source.as_dict())
    finally:
        staging.close()
        checkpoint.close()
        for client in publishers.values():
            client.close()
    migrated = sum(result.migrated.values())
    summary = {"domain": doc["domain"]["id"], "environment": target.environment,
               "finished": datetime.now(UTC).isoformat(), "in_scope": validation["in_scope"],
               "migrated": result.migrated, "bundles": result.sent,
               "errors": len(result.errors), "error_rate_percent": round(result.error_rate_percent, 3),
               "seconds": round(result.seconds, 2), "validation_sha256": validation["sha256"],
               "transaction_rules": target.transaction_rules, "rate_limit": target.rate_limit,
               "refused_by_limit": sum(client.refused_by_limit for client in publishers.values()),
               "resources_per_second": round(migrated / result.seconds, 1) if result.seconds else None}
    summary["errors_sha256"] = _write_json(work / "errors.json", result.errors)
    summary["sha256"] = _write_json(work / "migration.json", summary)
    (work / "staging.sqlite").unlink(missing_ok=True)
    export.unlink(missing_ok=True)
    return summary


def throttled(report: Callable[[str], None], every: float = 2.0) -> Progress:
    """A progress callback that reports a line per application and type at most every `every` seconds, with
    rate and ETA."""
    started: dict[str, tuple[float, int]] = {}
    last = [0.0]

    def progress(label: str, done: int, total: int) -> None:
        now = time.monotonic()
        first = started.setdefault(label, (now, done))
        if now - last[0] < every and done < total:
            return
        last[0] = now
        rate = (done - first[1]) / (now - first[0]) if now > first[0] else 0.0
        eta = f", ETA {int((total - done) / rate)} s" if rate and done < total else ""
        report(f"P.8 {label}: {done}/{total} ({100 * done // total if total else 100}%), {rate:.0f}/s{eta}")

    return progress
