"""`kt2 vault`: the vault password of the lab and the conversion of plain-text secrets (kt2ops.secrets)."""

from __future__ import annotations

from pathlib import Path

import click

from kt2ops.console import out
from kt2ops.paths import LAB_INVENTORY
from kt2ops.secrets import (
    LAB_PASSWORD_FILE,
    encrypt_in_place,
    init_password_file,
    inventory_secret_dirs,
    plain_secrets,
)

inventory_option = click.option("-i", "--inventory", type=click.Path(path_type=Path, file_okay=False),
                                default=LAB_INVENTORY, show_default=True, help="Inventory directory.")


@click.group()
def vault() -> None:
    """Secrets at rest: every key and password on the control machine is vault-encrypted."""


@vault.command("init")
@click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False), default=LAB_PASSWORD_FILE,
              show_default=True, help="Where the password goes (outside every inventory).")
def init_command(password_file: Path) -> None:
    """Make a random vault password for the lab (mode 0600) unless one is there. ansible.cfg reads this
    file; elsewhere set ANSIBLE_VAULT_PASSWORD_FILE to your own password file or script."""
    made = init_password_file(password_file)
    out.print(f"{'made' if made else 'kept'}: {password_file}", markup=False, highlight=False)


@vault.command("plain")
@inventory_option
def plain_command(inventory: Path) -> None:
    """List the secret files of INVENTORY that are not vault-encrypted; exit 1 when there are any."""
    found = list(plain_secrets(*inventory_secret_dirs(inventory)))
    for path in found:
        out.print(f"plain: {path}", markup=False, highlight=False)
    out.print(f"{len(found)} plain-text secret file(s) under {inventory}", markup=False, highlight=False)
    if found:
        raise SystemExit(1)


@vault.command("convert")
@inventory_option
def convert_command(inventory: Path) -> None:
    """Encrypt, once and in place, every plain-text secret of INVENTORY (keys, identities, passwords) with
    the configured vault password. Running it again changes nothing."""
    found = list(plain_secrets(*inventory_secret_dirs(inventory)))
    encrypt_in_place(found)
    for path in found:
        out.print(f"encrypted: {path}", markup=False, highlight=False)
    out.print(f"{len(found)} file(s) encrypted", markup=False, highlight=False)
