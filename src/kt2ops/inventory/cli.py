"""`kt2 inventory`: the inventory and its domain files checked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from kt2ops.cli_options import inventory_option
from kt2ops.inventory.check import check_inventory
from kt2ops.programme.programme import load_programme


@click.group()
def inventory() -> None:
    """Inventories and per-domain configuration."""


@inventory.command("check")
@inventory_option
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def inventory_check(inventory: Path, as_json: bool) -> None:
    """Validate the inventory and every domain file (exit 1 on any error), and report the programme's findings."""
    report = check_inventory(inventory)
    # The programme's findings (kt2 programme check) are reported beside the errors; they do not fail the check.
    findings = [] if report.errors else load_programme(inventory, datetime.now(UTC), report).findings
    if as_json:
        click.echo(json.dumps({**report.as_dict(), "programme": [vars(f) for f in findings]}, indent=2))
    else:
        for error in report.errors:
            click.echo(str(error), err=True)
        for finding in findings:
            click.echo(f"programme: {finding}", err=True)
        click.echo(f"{inventory}: {len(report.errors)} error(s) in {report.files_checked} file(s), "
                   f"{len(report.domains)} domain(s): {', '.join(report.domains) or '-'}; "
                   f"{len(findings)} programme finding(s)")
    if report.errors:
        raise SystemExit(1)
