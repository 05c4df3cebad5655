"""`kt2 artifact`, `kt2 collection`, `kt2 ee`: what kt2ops builds to deploy and run its playbooks."""

from __future__ import annotations

from pathlib import Path

import click

from kt2ops.artifact import NAMES as ARTIFACTS
from kt2ops.artifact import build as build_artifact
from kt2ops.collection import build as build_collection
from kt2ops.console import progress
from kt2ops.ee import ensure_image as ensure_ee_image
from kt2ops.ee import run_in_ee


@click.group()
def artifact() -> None:
    """The deployable artifacts of the lab's services."""


@artifact.command("build")
@click.argument("names", nargs=-1, type=click.Choice(ARTIFACTS))
def artifact_build(names: tuple[str, ...]) -> None:
    """Build (or reuse) artifacts for the current sources and print their paths, one a line in the order
    named: kt2ref (the Python services' tarball, the default) and kt2fhir (the HAPI FHIR server's jar, with
    its .sha256 beside it)."""
    for name in names or ("kt2ref",):
        path = build_artifact(name, progress=progress)
        click.echo(str(path))


@click.group()
def collection() -> None:
    """The Ansible collection kt2ops.platform (plugins and roles) as Galaxy ships it."""


@collection.command("build")
@click.option("--output", type=click.Path(path_type=Path), default=Path("build/collections"), show_default=True,
              help="Directory for the tarball.")
def collection_build(output: Path) -> None:
    """Build the collection tarball (for `ansible-galaxy collection install`) and print its path."""
    path = build_collection(output)
    click.echo(str(path))


@click.group()
def ee() -> None:
    """The execution environment (execution-environment.yml) that AWX and ansible-runner run playbooks in."""


@ee.command("build")
def ee_build() -> None:
    """Build (or reuse) the execution environment image on the lab's base image; print its tag."""
    click.echo(ensure_ee_image(progress)[0])


@ee.command("playbook", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED, required=True)
def ee_playbook(args: tuple[str, ...]) -> None:
    """Run `ansible-playbook ARGS` inside the execution environment with ansible-runner, as AWX runs a job
    (builds the image first when its recipe changed)."""
    raise SystemExit(run_in_ee(list(args), progress))
