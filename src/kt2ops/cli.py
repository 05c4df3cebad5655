"""`kt2`: the command line of kt2ops."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table

from kt2ops.artifact import NAMES as ARTIFACTS
from kt2ops.artifact import ArtifactError
from kt2ops.artifact import build as build_artifact
from kt2ops.collection import CollectionError
from kt2ops.collection import build as build_collection
from kt2ops.comply.cli import comply
from kt2ops.comply.cli import verify as verify_bundle
from kt2ops.console import out, progress
from kt2ops.ee import EEError, run_in_ee
from kt2ops.ee import ensure_image as ensure_ee_image
from kt2ops.inventory.check import check_inventory
from kt2ops.inventory.model import InventoryError
from kt2ops.journey import journey
from kt2ops.lab.image import ensure_image
from kt2ops.lab.lab import Lab
from kt2ops.lab.podman import PodmanError, check_usable
from kt2ops.migration.cli import migration
from kt2ops.paths import LAB_INVENTORY
from kt2ops.programme.cli import programme
from kt2ops.programme.programme import ProgrammeError, load_programme
from kt2ops.runbook.cli import audit, calendar, run_step, runbook
from kt2ops.security.cli import package
from kt2ops.vault_cli import vault

inventory_option = click.option(
    "-i", "--inventory", "inventory", type=click.Path(path_type=Path), default=LAB_INVENTORY,
    show_default=True, help="Inventory directory.",
)


@click.group()
def main() -> None:
    """Koppeltaal 2.0 platform and migration automation."""


@main.group()
def lab() -> None:
    """The local lab: one real host per environment, on its own isolated network."""


def _lab(inventory: Path) -> Lab:
    return Lab(inventory, progress=progress)


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@lab.command("up")
@inventory_option
def lab_up(inventory: Path) -> None:
    """Build the base image (cached) and start every environment's host."""
    start = time.monotonic()
    try:
        changes = _lab(inventory).up()
    except (PodmanError, InventoryError) as exc:
        raise _fail(exc) from exc
    for change in changes:
        out.print(f"changed: {change}")
    out.print(f"lab up: {len(changes)} changed in {time.monotonic() - start:.1f}s")


@lab.command("image")
def lab_image() -> None:
    """Build the lab's base image unless the cached one is current; print its tag."""
    try:
        check_usable()
        tag, built = ensure_image(progress)
    except PodmanError as exc:
        raise _fail(exc) from exc
    out.print(f"{'built' if built else 'cached'}: {tag}")


@lab.command("down")
@inventory_option
def lab_down(inventory: Path) -> None:
    """Remove the lab's containers and networks (only those kt2 created)."""
    try:
        removed = _lab(inventory).down()
    except PodmanError as exc:
        raise _fail(exc) from exc
    for item in removed:
        out.print(f"removed: {item}")
    out.print(f"lab down: {len(removed)} removed")


@lab.command("status")
@inventory_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def lab_status(inventory: Path, as_json: bool) -> None:
    """Each host, its network, address and health. Exit 1 unless all are healthy."""
    try:
        statuses = _lab(inventory).status()
    except (PodmanError, InventoryError) as exc:
        raise _fail(exc) from exc
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


@main.group()
def inventory() -> None:
    """Inventories and per-domain configuration."""


@inventory.command("check")
@inventory_option
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def inventory_check(inventory: Path, as_json: bool) -> None:
    """Validate the inventory and every domain file (exit 1 on any error), and report the programme's findings."""
    report = check_inventory(inventory)
    # The programme's findings (kt2 programme check) are reported beside the errors; they do not fail the check.
    try:
        findings = [] if report.errors else load_programme(inventory, datetime.now(UTC), report).findings
    except ProgrammeError as exc:
        raise click.ClickException(str(exc)) from exc
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


@main.group()
def artifact() -> None:
    """The deployable artifacts of the lab's services."""


@artifact.command("build")
@click.argument("name", type=click.Choice(ARTIFACTS), default="kt2ref")
def artifact_build(name: str) -> None:
    """Build (or reuse) an artifact for the current sources and print its path: kt2ref (the Python services'
    tarball) or kt2fhir (the HAPI FHIR server's jar, with its .sha256 beside it)."""
    try:
        path = build_artifact(name, progress=progress)
    except ArtifactError as exc:
        raise _fail(exc) from exc
    click.echo(str(path))


@main.group()
def collection() -> None:
    """The Ansible collection kt2ops.platform (plugins and roles) as Galaxy ships it."""


@collection.command("build")
@click.option("--output", type=click.Path(path_type=Path), default=Path("build/collections"), show_default=True,
              help="Directory for the tarball.")
def collection_build(output: Path) -> None:
    """Build the collection tarball (for `ansible-galaxy collection install`) and print its path."""
    try:
        path = build_collection(output)
    except CollectionError as exc:
        raise _fail(exc) from exc
    click.echo(str(path))


@main.group()
def ee() -> None:
    """The execution environment (execution-environment.yml) that AWX and ansible-runner run playbooks in."""


@ee.command("build")
def ee_build() -> None:
    """Build (or reuse) the execution environment image on the lab's base image; print its tag."""
    try:
        click.echo(ensure_ee_image(progress)[0])
    except (EEError, PodmanError) as exc:
        raise _fail(exc) from exc


@ee.command("playbook", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED, required=True)
def ee_playbook(args: tuple[str, ...]) -> None:
    """Run `ansible-playbook ARGS` inside the execution environment with ansible-runner, as AWX runs a job
    (builds the image first when its recipe changed)."""
    try:
        raise SystemExit(run_in_ee(list(args), progress))
    except (EEError, PodmanError) as exc:
        raise _fail(exc) from exc


main.add_command(comply)
main.add_command(verify_bundle)
main.add_command(package)
main.add_command(vault)
for command in (runbook, run_step, audit, calendar, migration, journey, programme):
    main.add_command(command)
