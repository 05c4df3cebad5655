"""Runbook M (trial migration on mgr2) with a copy of production data, delivered as appendix B asks:
the KT 1.3 export is cleaned by declared rules (B.3), sealed in an encrypted package with a SHA-256
manifest (B.1; the key stays on the control machine, apart), sent over SFTP into mgr2's transfer area
and verified there (B.2); the migration then runs from the package, opened and verified again, into
mgr2. The report gives the error percentage, the duration and an estimate for the production run."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from kt2ops.digest import sha256_file
from kt2ops.migration.migrate import limited_rate
from kt2ops.migration.p8 import fetch_export, migrate
from kt2ops.migration.target import Target
from kt2ops.remote import Remote
from kt2ops.security import sftp
from kt2ops.security.cleaning import clean, load_rules
from kt2ops.security.package import manifest_path, open_package, seal

PACKAGE = "M2-{domain}"


def paths(runbook: Path, domain: str) -> tuple[Path, Path]:
    """The package and its key: under .runbook/packages and .runbook/keys, never in one directory."""
    return runbook / "packages" / domain / f"{PACKAGE.format(domain=domain)}.tar.age", \
        runbook / "keys" / domain / "M2-package.key"


def make_package(kt13: Remote, doc: dict[str, Any], rules_file: Path, runbook: Path) -> dict[str, Any]:
    """Export, clean and seal; the plain files exist only in a private scratch directory meanwhile."""
    domain, kt13_domain = doc["domain"]["id"], doc["kt13"]["domain"]
    rules = load_rules(rules_file)
    package, key = paths(runbook, domain)
    scratch = Path(tempfile.mkdtemp(dir=runbook, prefix=".m2-"))
    try:
        export = scratch / "export.jsonl"
        fetch_export(kt13, kt13_domain, export)
        (scratch / "pack").mkdir()
        cleaned = scratch / "pack" / f"{kt13_domain}-export.jsonl"
        with export.open(encoding="utf-8") as source, cleaned.open("w", encoding="utf-8") as target:
            lines, reports = clean(source, rules, str(export))
            target.writelines(lines)
        sealed = json.loads(manifest_path(package).read_text())["files"] if manifest_path(package).exists() else []
        made = [f["sha256"] for f in sealed] != [sha256_file(cleaned)] or not key.exists()
        if made:  # the same cleaned data is not sealed again
            for stale in (package, manifest_path(package), key):
                stale.unlink(missing_ok=True)
            package.parent.mkdir(parents=True, exist_ok=True)
            key.parent.mkdir(parents=True, exist_ok=True)
            seal([cleaned], package.parent, package.name.removesuffix(".tar.age"), key)
    finally:
        shutil.rmtree(scratch)
    return {"package": str(package), "manifest": str(manifest_path(package)), "sealed": made,
            "cleaning": [asdict(r) for r in reports]}


def deliver(remote: Remote, files: list[Path], report: Callable[[str], None] | None = None) -> list[dict]:
    """Put the files into the environment's SFTP transfer area (chrooted account, key only, resumable),
    reporting progress lines at most every two seconds."""
    last = [0.0]

    def progress(transfer: sftp.Transfer) -> None:
        now = time.monotonic()
        if report and (now - last[0] >= 2 or transfer.done == transfer.size):
            last[0] = now
            report(f"M.2 upload {transfer.line()}")

    return sftp.send(remote, files, progress=progress)


def run_trial(doc: dict[str, Any], runbook: Path, work: Path, target: Target, expected_total: int | None,
              batch_size: int | None = None, production_limit: float | None = None) -> dict[str, Any]:
    """Open the package (verified again), migrate it into the trial environment, report. The production
    estimate takes the rate that will apply there: the trial's, or what production's ingress limit
    (`production_limit` requests/s) lets through if that is less; and the rate with P.8L's exemption."""
    package, key = paths(runbook, doc["domain"]["id"])
    scratch = Path(tempfile.mkdtemp(dir=work, prefix=".open-"))
    try:
        open_package(package, key, scratch)
        export = work / "export.jsonl"
        os.replace(scratch / f"{doc['kt13']['domain']}-export.jsonl", export)
    finally:
        shutil.rmtree(scratch)
    summary = migrate(export, work, doc, target, batch_size)
    migrated = sum(summary["migrated"].values())
    rate = migrated / summary["seconds"] if summary["seconds"] else None
    limited = min(rate, limited_rate(production_limit)) if rate and production_limit else rate

    def seconds(at: float | None) -> float | None:
        return round(expected_total / at, 1) if at and expected_total else None

    report = {**summary, "package_sha256": json.loads(manifest_path(package).read_text())["encrypted"]["sha256"],
              "expected_production_resources": expected_total, "production_rate_limit": production_limit,
              "estimated_production_seconds": seconds(limited),
              "estimated_production_seconds_exempt": seconds(rate)}
    (work / "trial.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    return report
