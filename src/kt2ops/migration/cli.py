"""`kt2 migration validate`: check a KT 1.3 export (the contract's export, or a cleaned one from a data
package) against the specification and the domain's migration scope before anything is imported."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from kt2ops.console import out
from kt2ops.migration.step import ValidationFailed, validate
from kt2ops.paths import LAB_INVENTORY
from kt2ops.runbook.context import RunbookError, load_domain


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
