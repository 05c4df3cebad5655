"""`kt2 lab`: the local lab's hosts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from rich.table import Table

from kt2ops.cli_options import inventory_option
from kt2ops.console import out, progress
from kt2ops.lab.image import ensure_image
from kt2ops.lab.lab import Lab
from kt2ops.lab.podman import check_usable


@click.group()
def lab() -> None:
    """The local lab: one real host per environment, on its own isolated network."""


def _lab(inventory: Path) -> Lab:
    return Lab(inventory, progress=progress)


@lab.command("up")
@inventory_option
def lab_up(inventory: Path) -> None:
    """Build the base image (cached) and start every environment's host."""
    start = time.monotonic()
    changes = _lab(inventory).up()
    for change in changes:
        out.print(f"changed: {change}")
    out.print(f"lab up: {len(changes)} changed in {time.monotonic() - start:.1f}s")


@lab.command("image")
def lab_image() -> None:
    """Build the lab's base image unless the cached one is current; print its tag."""
    check_usable()
    tag, built = ensure_image(progress)
    out.print(f"{'built' if built else 'cached'}: {tag}")


@lab.command("down")
@inventory_option
def lab_down(inventory: Path) -> None:
    """Remove the lab's containers and networks (only those kt2 created)."""
    removed = _lab(inventory).down()
    for item in removed:
        out.print(f"removed: {item}")
    out.print(f"lab down: {len(removed)} removed")


@lab.command("status")
@inventory_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def lab_status(inventory: Path, as_json: bool) -> None:
    """Each host, its network, address and health. Exit 1 unless all are healthy."""
    statuses = _lab(inventory).status()
    rows = [{"host": s.host.name, "environment": s.host.env, "container": s.host.container,
             "network": s.host.network, "subnet": str(s.host.subnet), "address": s.host.address,
             "state": s.state, "systemd": s.system, "ssh": s.ssh} for s in statuses]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        table = Table(title="kt2ops lab")
        for column in rows[0] if rows else []:
            table.add_column(column)
        for row in rows:
            table.add_row(*row.values())
        out.print(table)
    if any(r["ssh"] != "ok" for r in rows):
        raise SystemExit(1)
