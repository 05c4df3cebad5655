"""Shell commands on an inventory host over SSH, with streams: what Ansible's task model cannot do
(a backup streams gigabytes from a host's database straight into encryption on the control machine)."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class RemoteError(RuntimeError):
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
                   int(hostvars.get("ansible_port") or 22), hostvars.get("ansible_ssh_private_key_file"),
                   tuple(shlex.split(options)))

    def argv(self, command: str) -> list[str]:
        key = ["-i", self.key_file, "-o", "IdentitiesOnly=yes"] if self.key_file else []
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
