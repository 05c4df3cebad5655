"""`kt2 migration validate`: check a KT 1.3 export (the contract's export, or a cleaned one from a data
package) against the specification and the domain's migration scope before anything is imported.
`kt2 migration publish`: a supplier's own part of P.8, with its own application key."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from kt2ops.console import out
from kt2ops.inventory.model import InventoryError, load_inventory
from kt2ops.migration.client import FhirError
from kt2ops.migration.p8 import ValidationFailed, migrate, throttled, validate
from kt2ops.migration.target import target_of, workdir
from kt2ops.paths import LAB_INVENTORY
from kt2ops.runbook.context import RunbookError, load_domain
from kt2ops.secrets import SecretError, read_secret


@click.group()
def migration() -> None:
    """The migration of a domain's KT 1.3 data (P.8 and Q run as steps: `kt2 run P.8`)."""


@migration.command("validate")
@click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-i", "--inventory", type=click.Path(path_type=Path), default=LAB_INVENTORY, show_default=True)
@click.option("--domain", "domain_id", required=True, help="Domain id (its domain file gives scope and KT 1.3 name).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for validation.json and validation.txt (default: a temporary one, removed).")
def validate_command(export: Path, inventory: Path, domain_id: str, out_dir: Path | None) -> None:
    """Validate EXPORT (JSON lines); exit 1 when a finding is blocking, 2 on bad input."""
    try:
        doc = load_domain(inventory, domain_id)
    except RunbookError as exc:
        raise click.UsageError(str(exc)) from exc
    with tempfile.TemporaryDirectory() as scratch:
        work = out_dir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        try:
            staging, _ = validate(export, work, doc)
            staging.close()
            failed = False
        except ValidationFailed:
            failed = True
        (work / "staging.sqlite").unlink(missing_ok=True)
        out.print((work / "validation.txt").read_text(), markup=False, highlight=False)
    if failed:
        raise SystemExit(1)


@migration.command("publish")
@click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-i", "--inventory", type=click.Path(path_type=Path), default=LAB_INVENTORY, show_default=True)
@click.option("--domain", "domain_id", required=True, help="Domain id (its domain file gives scope and roles).")
@click.option("--environment", required=True, help="The KT 2.0 environment to publish into (an inventory group).")
@click.option("--application", required=True, help="The application's client id: only what it sent is published.")
@click.option("--key", "key_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The application's private key (PEM, plain or vault-encrypted), registered with the domain on "
                   "that environment.")
@click.option("--batch-size", type=click.IntRange(1, 1000),
              help="Resources per Bundle (default: sized for the environment's ingress limit).")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 16))
def publish_command(export: Path, inventory: Path, domain_id: str, environment: str, application: str,
                    key_file: Path, batch_size: int | None, concurrency: int) -> None:
    """A supplier's own part of P.8: validate EXPORT and publish what APPLICATION sent to KT 1.3, with its own
    key, resumable like P.8. References to other applications' data go by their migration identifier.
    Exit 1 when validation blocks or the platform fails, 2 on bad input."""
    try:
        doc = load_domain(inventory, domain_id)
        parsed = load_inventory(inventory)
        key = read_secret(key_file)
    except (RunbookError, InventoryError, SecretError) as exc:
        raise click.UsageError(str(exc)) from exc
    if application not in {a["id"] for a in doc["applications"]}:
        raise click.UsageError(f"--application {application}: not an application of {domain_id} "
                               f"({', '.join(a['id'] for a in doc['applications'])})")
    hosts = parsed.group_hosts(environment)
    if environment not in doc["domain"]["environments"] or not hosts:
        raise click.UsageError(f"--environment {environment}: {domain_id} is not on it "
                               f"({', '.join(doc['domain']['environments'])})")
    say = lambda line: out.print(line, markup=False, highlight=False)  # noqa: E731
    target = target_of(parsed.hostvars[hosts[0]], environment, inventory, say)
    work = workdir(inventory, domain_id, environment)
    copy = work / "export.jsonl"  # migrate() removes its copy of the personal data when it is done
    shutil.copyfile(export, copy)
    copy.chmod(0o600)
    try:
        summary = migrate(copy, work, doc, target, batch_size, throttled(say), concurrency=concurrency,
                          keys={application: key})
    except (ValidationFailed, FhirError, OSError) as exc:
        copy.unlink(missing_ok=True)
        out.print(f"P.8 part of {application}: {exc}", markup=False, highlight=False)
        raise SystemExit(1) from exc
    published = ", ".join(f"{k} {v}" for k, v in summary["migrated"].items())
    out.print(f"P.8 part of {application} on {environment}: {published}; {summary['errors']} error(s); "
              f"reports in {work}", markup=False, highlight=False)
