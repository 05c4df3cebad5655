"""Deliver files into an environment's SFTP transfer area (appendix B.1) with paramiko.

The host key must be in the known_hosts file the inventory names (the lab's, or the operator's): an unknown
or changed key refuses the upload before anything is sent. Authentication is by key only. A file is written
as `<name>.partial` and renamed when whole, so the receiving side never sees half a package; an interrupted
upload resumes from the bytes already there, once their SHA-256 matches the same prefix of the local file
(otherwise it starts again)."""

from __future__ import annotations

import hashlib
import shlex
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import paramiko

from kt2ops.remote import Remote, RemoteError
from kt2ops.secrets import SecretError, paramiko_key

TRANSFER_USER = "kt2transfer"
CHUNK = 1 << 18  # paramiko splits writes into SFTP packets itself; pipelined, larger chunks cost nothing


@dataclass
class Transfer:
    """How far one file's upload is: what a progress display needs."""

    host: str
    name: str
    size: int
    resumed_from: int
    sent: int = 0
    started: float = 0.0

    @property
    def done(self) -> int:
        return self.resumed_from + self.sent

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.sent / elapsed if elapsed > 0 else 0.0
        eta = f", ETA {int((self.size - self.done) / rate)} s" if rate and self.done < self.size else ""
        resumed = f", resumed at {self.resumed_from} bytes" if self.resumed_from else ""
        percent = 100 * self.done // self.size if self.size else 100
        return (f"{self.host}: {self.name} {self.done}/{self.size} bytes ({percent}%), "
                f"{rate / 2**20:.1f} MiB/s{eta}{resumed}")


def known_hosts_file(remote: Remote) -> Path:
    """The known_hosts file the host's SSH options name (as Ansible uses them), else the operator's."""
    words = [w for option in remote.options for w in shlex.split(option.replace("=", " ", 1))]
    for key, value in pairwise(words):
        if key.lower() == "userknownhostsfile":
            return Path(value).expanduser()
    return Path("~/.ssh/known_hosts").expanduser()


def _key(remote: Remote) -> paramiko.PKey | None:
    try:
        return paramiko_key(remote.key_file) if remote.key_file else None
    except SecretError as exc:
        raise RemoteError(f"{remote.name}: {exc}") from None


def connect(remote: Remote, user: str = TRANSFER_USER) -> paramiko.SSHClient:
    """An SSH connection whose host key is checked strictly against known_hosts, with the key only."""
    known = known_hosts_file(remote)
    client = paramiko.SSHClient()
    try:
        client.load_host_keys(str(known))
    except OSError as exc:
        raise RemoteError(f"{remote.name}: cannot read known_hosts {known}: {exc}") from exc
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(remote.address, port=remote.port, username=user, pkey=_key(remote),
                       allow_agent=False, look_for_keys=False, timeout=30, banner_timeout=30, auth_timeout=30)
    except paramiko.BadHostKeyException as exc:
        raise RemoteError(f"{remote.name} ({remote.address}): host key changed, it does not match {known}; "
                          "upload refused") from exc
    except paramiko.AuthenticationException as exc:
        raise RemoteError(f"{remote.name}: {user} refused the key {remote.key_file}: {exc}") from exc
    except paramiko.SSHException as exc:
        if "not found in known_hosts" in str(exc):
            raise RemoteError(f"{remote.name} ({remote.address}): host key unknown, not in {known}; "
                              "upload refused") from exc
        raise RemoteError(f"{remote.name}: SSH failed: {exc}") from exc
    except OSError as exc:
        raise RemoteError(f"{remote.name} ({remote.address}:{remote.port}): cannot connect: {exc}") from exc
    return client


def send(remote: Remote, files: Iterable[Path], user: str = TRANSFER_USER,
         progress: Callable[[Transfer], None] | None = None) -> list[dict]:
    """Upload the files into the transfer area (the account's start directory); one record per file."""
    client = connect(remote, user)
    try:
        sftp = client.open_sftp()
        return [_put(sftp, remote.name, path, progress) for path in files]
    finally:
        client.close()


def _put(sftp: paramiko.SFTPClient, host: str, path: Path, progress: Callable[[Transfer], None] | None) -> dict:
    size = path.stat().st_size
    partial = f"{path.name}.partial"
    try:
        offset = _resumable(sftp, partial, path, size)
        transfer = Transfer(host, path.name, size, offset, started=time.monotonic())
        with path.open("rb") as source, sftp.open(partial, "r+b" if offset else "wb") as target:
            target.set_pipelined(True)
            source.seek(offset)
            target.seek(offset)
            while chunk := source.read(CHUNK):
                target.write(chunk)
                transfer.sent += len(chunk)
                if progress:
                    progress(transfer)
        arrived = sftp.stat(partial).st_size
        if arrived != size:
            raise RemoteError(f"{host}: {path.name}: {arrived} of {size} bytes arrived")
        sftp.posix_rename(partial, path.name)
    except (OSError, paramiko.SSHException, EOFError) as exc:
        raise RemoteError(f"{host}: upload of {path} stopped: {exc or type(exc).__name__} "
                          f"(run again to resume from {partial})") from exc
    return {"file": path.name, "bytes": size, "resumed_from": offset}


def _resumable(sftp: paramiko.SFTPClient, partial: str, path: Path, size: int) -> int:
    """Bytes of an earlier upload to keep: the partial file when it is a prefix of this one, else 0."""
    try:
        there = sftp.stat(partial)
    except FileNotFoundError:
        return 0
    if not stat.S_ISREG(there.st_mode or 0) or not 0 < (there.st_size or 0) <= size:
        return 0
    kept = int(there.st_size or 0)
    with sftp.open(partial, "rb") as remote_file:
        remote_file.prefetch(kept)
        remote_hash = _sha256(remote_file, kept)
    with path.open("rb") as local:
        return kept if _sha256(local, kept) == remote_hash else 0


def _sha256(handle: Any, length: int) -> str:  # a local file or a paramiko SFTPFile
    digest, left = hashlib.sha256(), length
    while left:
        block = handle.read(min(CHUNK, left))
        if not block:
            break
        digest.update(block)
        left -= len(block)
    return digest.hexdigest()
