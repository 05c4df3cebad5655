"""An ssh-agent of this process for the `ssh` commands kt2ops runs itself (backups streamed from hosts, the
lab's checks): a vault-encrypted key is opened in memory and handed to the agent over its socket, so the
`ssh` client authenticates with it although it never lies decrypted on disk. Its keys live only in its
memory, and it ends with the process however that ends: a shell keeps it and waits on a pipe only this
process holds, and kills it (and removes its socket) when the pipe closes."""

from __future__ import annotations

import atexit
import subprocess
import tempfile
import time
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from kt2ops.secrets import SecretError, read_secret


class _Agent:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="kt2ops-agent-"))
        self.socket = self.dir / "agent.sock"
        self.proc = subprocess.Popen(
            ["sh", "-c", 'ssh-agent -D -a "$1" >/dev/null & read -r _; kill $!; rm -rf "$2"', "sh",
             str(self.socket), str(self.dir)], stdin=subprocess.PIPE)
        atexit.register(self.stop)
        for _ in range(200):
            if self.socket.exists():
                return
            time.sleep(0.01)
        raise SecretError(f"ssh-agent did not open {self.socket}")

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()

    def add(self, key_file: str) -> Path:
        """Hand the key to the agent; returns its public half's file (what `ssh -i` then names)."""
        public = self.dir / f"{len(list(self.dir.glob('*.pub')))}.pub"
        public.write_bytes(add_key(key_file, str(self.socket)) + b"\n")
        return public


def add_key(key_file: str, socket: str) -> bytes:
    """Open the (vault-encrypted) key in memory and hand it to the agent at `socket` over its protocol
    (`ssh-add -` reads it from a pipe); returns the public key in OpenSSH format."""
    private = read_secret(key_file)
    try:
        key = serialization.load_ssh_private_key(private, None)
    except ValueError:
        key = serialization.load_pem_private_key(private, None)
    added = subprocess.run(["ssh-add", "-q", "-"], input=private, capture_output=True, check=False,
                           env={"SSH_AUTH_SOCK": socket, "PATH": "/usr/bin:/bin"})
    if added.returncode != 0:
        raise SecretError(f"{key_file}: ssh-add refused the key: {added.stderr.decode().strip()}")
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)


@cache
def _agent() -> _Agent:
    return _Agent()


@cache
def identity_args(key_file: str) -> tuple[str, ...]:
    """`ssh` options that authenticate with `key_file` (vault-encrypted or not) and with nothing else."""
    agent = _agent()
    public = agent.add(key_file)
    return ("-o", f"IdentityAgent={agent.socket}", "-o", "IdentitiesOnly=yes", "-i", str(public))
