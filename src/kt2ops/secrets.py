"""Secrets at rest: every private key, identity and password kt2ops writes on the control machine is
stored in Ansible Vault format (`ansible-vault view` opens it) and opened in memory, per run, with the
vault password source Ansible is configured with: ANSIBLE_VAULT_PASSWORD_FILE (a file or a script),
ansible.cfg's vault_password_file, or ANSIBLE_VAULT_IDENTITY_LIST. Nothing is decrypted to disk.

Inside ansible-playbook the kt2ops plugins hand over the run's own vault (`use_vault`; `--vault-id` and
`--ask-vault-pass` included); the `kt2` commands build it from the same configuration."""

from __future__ import annotations

import io
import os
import re
import secrets
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import paramiko
from ansible import constants as C
from ansible.cli import CLI
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultLib, get_file_vault_secret, is_encrypted
from pyrage import IdentityError, x25519

from kt2ops.errors import Kt2OpsError
from kt2ops.layout import layout

# The lab's own vault password: outside every inventory, made by `kt2 lab up` (or `kt2 vault init`).
LAB_PASSWORD_FILE = Path("~/.config/kt2ops/vault-password").expanduser()

# Plain-text secret material, whatever the file is called: PEM/OpenSSH private keys, age identities.
PLAIN_SECRET = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----|AGE-SECRET-KEY-1")
# Files that are secrets by name (a KT 1.3 application password has no recognisable content).
SECRET_SUFFIXES = (".password",)
# Not read when scanning: age-encrypted data (encrypted by construction) and large files (exports, logs
# of gigabytes; a key file is a few kilobytes).
SCAN_SKIP_SUFFIXES = (".age",)
SCAN_MAX_BYTES = 8 << 20
# Where kt2ops keeps secrets, relative to an inventory directory.
SECRET_DIRS = (layout("kt2_pki_dir"), ".runbook/keys", ".lab")


class SecretError(Kt2OpsError, RuntimeError):
    """A secret could not be opened or stored; the message names the file and what to do."""


def _source_hint() -> str:
    return ("set ANSIBLE_VAULT_PASSWORD_FILE to the vault password file or script "
            f"(the lab's: {LAB_PASSWORD_FILE}, made by `kt2 vault init`)")


_run_vault: VaultLib | None = None


def use_vault(vault: VaultLib) -> None:
    """Inside ansible-playbook: every secret of this process opens with the run's own vault (--vault-id and
    --ask-vault-pass included). The kt2ops action plugins call this first."""
    global _run_vault
    _run_vault = vault


def configured_vault() -> VaultLib:
    """The run's vault inside ansible-playbook, else the one Ansible's configuration gives."""
    return _run_vault if _run_vault is not None and _run_vault.secrets else _vault_from_config()


def password_sources() -> tuple[list[tuple[str | None, str]], str | None]:
    """The vault password sources Ansible's configuration names now (environment, then ansible.cfg): the
    identity list as (vault id, file, script or prompt), and the password file or script."""
    identities = [CLI.split_vault_id(v) for v in C.config.get_config_value("DEFAULT_VAULT_IDENTITY_LIST") or []]
    return identities, C.config.get_config_value("DEFAULT_VAULT_PASSWORD_FILE")


@cache
def _vault_from_config() -> VaultLib:
    """The vault from Ansible's configuration, read now (environment, then ansible.cfg):
    the password files or scripts of vault_identity_list and vault_password_file. Prompts are for
    ansible-playbook; a `kt2` command needs a file or script. Fails naming the source it could not read."""
    identities, password_file = password_sources()
    sources = identities + ([(None, password_file)] if password_file else [])
    vault_secrets = []
    for vault_id, source in sources:
        if source in ("prompt", "prompt_ask_vault_pass"):
            continue
        try:
            secret = get_file_vault_secret(filename=os.path.expanduser(source), vault_id=vault_id,
                                           loader=DataLoader())
            secret.load()
        except AnsibleError as error:
            raise SecretError(f"cannot open the vault password: {error.message}; {_source_hint()}") from None
        vault_secrets.append((vault_id or C.DEFAULT_VAULT_IDENTITY, secret))
    return VaultLib(vault_secrets)


def read_secret(path: Path | str, vault: VaultLib | None = None) -> bytes:
    """The plain content of a secret file, decrypted in memory when it is vaulted."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise SecretError(f"{path}: cannot read: {error.strerror}") from None
    if not is_encrypted(data):
        return data
    vault = vault or configured_vault()
    if not vault.secrets:
        raise SecretError(f"{path}: is vault-encrypted and no vault password is configured; {_source_hint()}")
    try:
        return vault.decrypt(data)
    except AnsibleError:
        raise SecretError(f"{path}: cannot be opened with this vault password (a wrong password, or the "
                          f"file was encrypted with another); {_source_hint()}") from None


def encrypt(data: bytes, vault: VaultLib | None = None, where: Path | str = "") -> bytes:
    vault = vault or configured_vault()
    if not vault.secrets:
        raise SecretError(f"{where}: a secret is only stored vault-encrypted and no vault password is "
                          f"configured; {_source_hint()}")
    return vault.encrypt(data)


def write_secret(path: Path | str, data: bytes, vault: VaultLib | None = None, *, exclusive: bool = False) -> None:
    """Store `data` vault-encrypted at `path` (mode 0600, parents 0700), atomically; with `exclusive` an
    existing file is an error rather than replaced."""
    path = Path(path)
    sealed = encrypt(data, vault, path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = path if exclusive else path.with_name(path.name + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    with os.fdopen(os.open(target, flags, 0o600), "wb") as out:
        out.write(sealed)
    if not exclusive:
        os.replace(target, path)


def write_age_identity(path: Path, identity: x25519.Identity, vault: VaultLib | None = None) -> None:
    """An age identity (the key of a backup, package or archive), vault-encrypted; never replaces one."""
    write_secret(path, (str(identity) + "\n").encode(), vault, exclusive=True)


def age_identity(path: Path | str, vault: VaultLib | None = None) -> x25519.Identity:
    try:
        return x25519.Identity.from_str(read_secret(path, vault).decode().strip())
    except (UnicodeDecodeError, IdentityError):
        raise SecretError(f"{path}: not an age identity") from None


def paramiko_key(path: Path | str, vault: VaultLib | None = None) -> paramiko.PKey:
    """An SSH private key (OpenSSH or PEM; Ed25519, ECDSA or RSA) for paramiko, opened in memory."""
    text = read_secret(path, vault).decode(errors="replace")
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text))
        except paramiko.SSHException:
            continue
    raise SecretError(f"{path}: not an SSH private key paramiko can use")


def is_vaulted(path: Path | str) -> bool:
    with open(path, "rb") as handle:
        return is_encrypted(handle.read(len(b"$ANSIBLE_VAULT")))


def is_plain_secret(path: Path) -> bool:
    """Whether the file holds secret material that is not vault-encrypted."""
    try:
        if path.name.endswith(SCAN_SKIP_SUFFIXES) or path.stat().st_size > SCAN_MAX_BYTES:
            return False
        data = path.read_bytes()
    except OSError:
        return False
    if is_encrypted(data):
        return False
    return path.name.endswith(SECRET_SUFFIXES) or bool(PLAIN_SECRET.search(data))


def plain_secrets(*roots: Path) -> Iterator[Path]:
    """Every file under `roots` with unencrypted secret material, in a stable order."""
    for root in roots:
        yield from (p for p in sorted(root.rglob("*")) if p.is_file() and is_plain_secret(p))


def vaulted_files(*roots: Path) -> Iterator[Path]:
    """Every vault-encrypted file under `roots`, in a stable order."""
    for root in roots:
        yield from (p for p in sorted(root.rglob("*")) if p.is_file() and is_vaulted(p))


def inventory_secret_dirs(inventory: Path) -> list[Path]:
    return [inventory / d for d in SECRET_DIRS if (inventory / d).exists()]


def encrypt_in_place(paths: list[Path], vault: VaultLib | None = None) -> None:
    """Vault-encrypt plain secret files where they lie (mode 0600); fails before the first without a password."""
    vault = vault or configured_vault()
    for path in paths:
        write_secret(path, path.read_bytes(), vault)


def init_password_file(path: Path = LAB_PASSWORD_FILE) -> bool:
    """Make a random vault password at `path` (0600, directory 0700) unless one is there; True if made."""
    if path.exists():
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(secrets.token_urlsafe(32) + "\n")
    return True
