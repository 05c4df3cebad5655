"""Shell commands on an inventory host over SSH, with streams: what Ansible's task model cannot do
(a backup streams gigabytes from a host's database straight into encryption on the control machine)."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kt2ops.errors import Kt2OpsError
from kt2ops.secrets import SecretError
from kt2ops.ssh_agent import identity_args


def ssh_key_file(hostvars: Mapping[str, Any]) -> str | None:
    """The host's SSH key file: kt2_ssh_key_file (vault-encrypted, opened by ansible_ssh_private_key), or
    Ansible's plain ansible_ssh_private_key_file."""
    return hostvars.get("kt2_ssh_key_file") or hostvars.get("ansible_ssh_private_key_file")


class RemoteError(Kt2OpsError, RuntimeError):
    """A command on a host failed; the message names the host and the command's error output."""


@dataclass(frozen=True)
class Remote:
    name: str
    address: str
    user: str
    port: int
    key_file: str | None
    options: tuple[str, ...]

    @classmethod
    def from_hostvars(cls, name: str, hostvars: Mapping[str, Any]) -> Remote:
        """Connect as Ansible would: ansible_host, _user, _port, the key and the SSH arguments it uses."""
        options = " ".join(str(hostvars.get(k) or "") for k in ("ansible_ssh_common_args", "ansible_ssh_extra_args"))
        return cls(name, str(hostvars.get("ansible_host") or name), str(hostvars.get("ansible_user") or "root"),
                   int(hostvars.get("ansible_port") or 22), ssh_key_file(hostvars),
                   tuple(shlex.split(options)))

    def argv(self, command: str) -> list[str]:
        try:
            key = list(identity_args(self.key_file)) if self.key_file else []
        except SecretError as exc:
            raise RemoteError(f"{self.name}: {exc}") from None
        return ["ssh", "-o", "BatchMode=yes", *self.options, *key, "-p", str(self.port),
                f"{self.user}@{self.address}", command]

    def run(self, command: str) -> bytes:
        proc = subprocess.run(self.argv(command), capture_output=True, check=False, timeout=3600)
        if proc.returncode != 0:
            raise self._failed(command, proc.returncode, proc.stderr.decode(errors="replace"))
        return proc.stdout

    def stream(self, command: str, *, write: bool) -> subprocess.Popen[bytes]:
        """Start `command`, reading its stdout and, with write=True, writing its stdin. End with `finish`."""
        return subprocess.Popen(self.argv(command), stdin=subprocess.PIPE if write else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def finish(self, proc: subprocess.Popen[bytes], command: str) -> bytes:
        """Close its stdin, return the rest of its stdout; raise when it failed."""
        if proc.stdin:
            proc.stdin.close()
        rest = proc.stdout.read() if proc.stdout else b""
        error = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.wait() != 0:
            raise self._failed(command, proc.returncode, error)
        return rest

    def _failed(self, command: str, code: int, error: str) -> RemoteError:
        return RemoteError(f"{self.name}: {command.split()[0]}... failed ({code}): {error.strip()[-500:]}")
