"""`kt2`: the command line of kt2ops. Each command group lives beside what it drives and is imported only
when it runs: `kt2 run` need not load what `kt2 comply` scans with (sslyze and pyinfra: 0.6 s of a 0.9 s start)."""

from __future__ import annotations

import importlib

import click

from kt2ops.errors import Kt2OpsError

COMMANDS = {
    "lab": "kt2ops.lab.cli:lab",
    "inventory": "kt2ops.inventory.cli:inventory",
    "artifact": "kt2ops.build_cli:artifact",
    "collection": "kt2ops.build_cli:collection",
    "ee": "kt2ops.build_cli:ee",
    "comply": "kt2ops.comply.cli:comply",
    "verify-bundle": "kt2ops.comply.cli:verify",
    "package": "kt2ops.security.cli:package",
    "vault": "kt2ops.vault_cli:vault",
    "runbook": "kt2ops.runbook.cli:runbook",
    "run": "kt2ops.runbook.cli:run_step",
    "audit": "kt2ops.runbook.cli:audit",
    "calendar": "kt2ops.runbook.cli:calendar",
    "migration": "kt2ops.migration.cli:migration",
    "journey": "kt2ops.journey:journey",
    "programme": "kt2ops.programme.cli:programme",
}


class LazyGroup(click.Group):
    """A group whose commands are imported by name when asked for (click's documented lazy loading), and
    where any kt2ops error becomes the command's failure: its message on stderr, exit 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Kt2OpsError as exc:
            raise click.ClickException(str(exc)) from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup)
def main() -> None:
    """Koppeltaal 2.0 platform and migration automation."""
