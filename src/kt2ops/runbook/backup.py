"""Backups of a domain (runbook L.2, P.2; appendix B.7): every part streamed from its host's database
straight into age encryption on the control machine, with a SHA-256 manifest (rows, hashes of the
plain and the encrypted stream), then a restore test into a scratch database on the same host that
must give back identical data.

Layout: `<runbook dir>/backups/<domain>/<backup id>/` holds `<part>.age` files, `manifest.json` and
`verified.json`; the age identity is written to `<runbook dir>/keys/<domain>/<backup id>.key` (0600),
never beside the backup. A backup is built in a `.partial` directory and renamed when its restore test
passed, so a run killed midway leaves nothing that looks complete, and the next run clears it away.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pyrage
from pyrage import x25519

from kt2ops.digest import sha256_file
from kt2ops.errors import Kt2OpsError
from kt2ops.remote import Remote, RemoteError
from kt2ops.secrets import write_age_identity

SCRATCH_DB = "kt2ops_restore_test"
APP_STATE = "/var/lib/kt2ref/kt2-app-service"


class BackupError(Kt2OpsError, RuntimeError):
    """The backup or its restore test failed; the message names the part and the host."""


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _psql(database: str, sql: str) -> str:
    return f"runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d {database} -c {shlex.quote(sql)}"


@dataclass(frozen=True)
class Part:
    """One stream of the backup: a table's rows of the domain (COPY text) or a tar of files."""

    name: str
    remote: Remote
    database: str | None  # None for a file archive
    table: str
    select: str  # the rows of the domain, in a stable order, or the tar command

    @property
    def export(self) -> str:
        if self.database is None:
            return self.select
        return _psql(self.database, f"COPY ({self.select}) TO STDOUT")


def parts_for(domain: str, kt13_domain: str, kt13: Remote, kt13_db: str, target: Remote | None,
              target_db: str | None) -> list[Part]:
    """What belongs to a domain: its KT 1.3 domain and messages, its KT 2.0 domain and resources on the
    target, and the applications' files for it (mails sent, switches) on both hosts. Parent tables first."""
    d13, d2 = _literal(kt13_domain), _literal(domain)
    parts = [Part("kt13-domains", kt13, kt13_db, "domains", f"SELECT * FROM domains WHERE id = {d13}"),
             Part("kt13-messages", kt13, kt13_db, "messages",
                  f"SELECT * FROM messages WHERE domain = {d13} ORDER BY seq")]
    if target is not None and target_db:
        # The FHIR server (HAPI): the domain's row of the contract, its partition, and the partition's resources
        # with every stored version. HAPI's search indexes are derived from these ($reindex rebuilds them).
        partition = f"(SELECT part_id FROM hfj_partition WHERE part_name = {d2})"
        parts += [Part("kt2-domains", target, target_db, "kt2_domain", f"SELECT * FROM kt2_domain WHERE id = {d2}"),
                  Part("kt2-partition", target, target_db, "hfj_partition",
                       f"SELECT * FROM hfj_partition WHERE part_name = {d2}"),
                  Part("kt2-resources", target, target_db, "hfj_resource",
                       f"SELECT * FROM hfj_resource WHERE partition_id = {partition} ORDER BY res_id"),
                  Part("kt2-versions", target, target_db, "hfj_res_ver",
                       f"SELECT * FROM hfj_res_ver WHERE partition_id = {partition} ORDER BY pid")]
    for label, remote in (("kt13", kt13), ("kt2", target)):
        if remote is not None:
            parts.append(Part(f"apps-{label}", remote, None, "files",
                              f"cd {APP_STATE} 2>/dev/null && tar --sort=name --mtime=@0 --owner=0 --group=0 -cf - "
                              f"--ignore-failed-read triggers.json outbox/{domain} 2>/dev/null || true"))
    return parts


class _Hashing:
    """A reader that hashes and counts what passes through it (pyrage reads with read(n))."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream, self.digest, self.size, self.rows = stream, hashlib.sha256(), 0, 0

    def read(self, n: int = -1) -> bytes:
        chunk = self.stream.read(n)
        self.digest.update(chunk)
        self.size += len(chunk)
        self.rows += chunk.count(b"\n")
        return chunk


def still_current(manifest: dict[str, Any] | None, parts: list[Part]) -> bool:
    """Whether a backup still holds exactly the data as it is now: every part's SHA-256 is computed on its
    host (nothing is transferred) and compared with the manifest."""
    if manifest is None:
        return False
    now = {p.name: p.remote.run(f"set -o pipefail; ( {p.export} ) | sha256sum").split()[0].decode() for p in parts}
    return {p["name"]: p["plain_sha256"] for p in manifest["parts"]} == now


def latest(backups: Path, domain: str, step: str) -> dict[str, Any] | None:
    """The manifest of the newest complete backup of `domain` made by `step`."""
    found = sorted((backups / domain).glob(f"{step}-*/manifest.json")) if (backups / domain).exists() else []
    return json.loads(found[-1].read_text()) if found else None


def backup(parts: list[Part], backups: Path, keys: Path, domain: str, step: str) -> tuple[dict[str, Any], bool]:
    """Make a restore-tested backup, unless the newest one of this step still matches the data exactly.
    Returns its manifest and whether a new one was made."""
    for private in (backups, keys):
        private.mkdir(parents=True, exist_ok=True, mode=0o700)
        private.chmod(0o700)
    _clear_partials(backups / domain, keys / domain)
    previous = latest(backups, domain, step)
    if previous and still_current(previous, parts):
        return previous, False
    backup_id = f"{step}-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
    work = backups / domain / f".{backup_id}.partial"
    work.mkdir(parents=True, mode=0o700)
    identity = x25519.Identity.generate()
    keys.joinpath(domain).mkdir(parents=True, exist_ok=True, mode=0o700)
    key_file = keys / domain / f"{backup_id}.key"
    write_age_identity(key_file, identity)
    entries = [_seal_part(part, work, identity.to_public()) for part in parts]
    manifest = {"backup": backup_id, "domain": domain, "step": step,
                "created": datetime.now(UTC).isoformat(timespec="seconds"), "encryption": "age X25519",
                "recipient": str(identity.to_public()), "key_file": str(key_file), "parts": entries,
                "hash_total": hashlib.sha256("".join(e["plain_sha256"] for e in entries).encode()).hexdigest()}
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    manifest["restore_test"] = restore_test(work, parts, identity)
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    final = backups / domain / backup_id
    work.rename(final)
    return manifest, True


def _seal_part(part: Part, work: Path, recipient: x25519.Recipient) -> dict[str, Any]:
    target = work / f"{part.name}.age"
    proc = part.remote.stream(f"set -o pipefail; {part.export}", write=False)
    assert proc.stdout is not None
    reader = _Hashing(proc.stdout)
    with target.open("wb") as out:
        pyrage.encrypt_io(reader, out, [recipient])
    try:
        part.remote.finish(proc, part.export)
    except RemoteError as exc:
        raise BackupError(f"backup part {part.name}: {exc}") from exc
    return {"name": part.name, "host": part.remote.name, "source": f"{part.database or 'files'}.{part.table}",
            "rows": reader.rows if part.database else None, "plain_size": reader.size,
            "plain_sha256": reader.digest.hexdigest(), "file": target.name, "encrypted_size": target.stat().st_size,
            "encrypted_sha256": sha256_file(target)}


def verify_files(directory: Path) -> list[str]:
    """Problems with the encrypted files against the manifest (no key needed): missing or changed."""
    manifest = json.loads((directory / "manifest.json").read_text())
    problems = []
    for entry in manifest["parts"]:
        path = directory / entry["file"]
        if not path.exists():
            problems.append(f"{path}: missing")
        elif sha256_file(path) != entry["encrypted_sha256"]:
            problems.append(f"{path}: SHA-256 differs from the manifest (changed after the backup)")
    return problems


def restore_test(directory: Path, parts: list[Part], identity: x25519.Identity) -> str:
    """Restore every table part into a scratch database on its host and export it again: the hashes
    must equal the backup's. Archives are decrypted and listed. Returns "identical"; raises otherwise."""
    problems = verify_files(directory)
    if problems:
        raise BackupError("restore refused: " + "; ".join(problems))
    manifest = {e["name"]: e for e in json.loads((directory / "manifest.json").read_text())["parts"]}
    hosts: dict[str, tuple[Remote, str]] = {}
    for part in parts:
        if part.database:
            hosts.setdefault(part.remote.name, (part.remote, part.database))
    for remote, database in hosts.values():
        tables = " ".join(f"-t {p.table}" for p in parts if p.remote == remote and p.database)
        remote.run(f"runuser -u postgres -- dropdb --if-exists {SCRATCH_DB} && runuser -u postgres -- createdb "
                   f"{SCRATCH_DB} && set -o pipefail && runuser -u postgres -- pg_dump -s {tables} {database} | "
                   # The tables alone: a trigger could call functions outside the dump, and the test
                   # compares the tables' content only.
                   f"sed '/^CREATE TRIGGER /d' | runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d {SCRATCH_DB}")
    try:
        for part in parts:
            entry = manifest[part.name]
            if part.database is None:
                restored = _decrypt_into(directory / entry["file"], identity, part.remote, "sha256sum")
            else:
                _decrypt_into(directory / entry["file"], identity, part.remote,
                              _psql(SCRATCH_DB, f"COPY {part.table} FROM STDIN"))
                again = _psql(SCRATCH_DB, f"COPY ({part.select}) TO STDOUT")
                restored = part.remote.run(f"set -o pipefail; {again} | sha256sum")
            digest = restored.split()[0].decode()
            if digest != entry["plain_sha256"]:
                raise BackupError(f"restore test of {part.name} on {part.remote.name}: the restored data hashes to "
                                  f"{digest}, the backup to {entry['plain_sha256']}")
    finally:
        for remote, _ in hosts.values():
            remote.run(f"runuser -u postgres -- dropdb --if-exists {SCRATCH_DB}")
    return "identical"


def _decrypt_into(path: Path, identity: x25519.Identity, remote: Remote, command: str) -> bytes:
    """Decrypt a part into `command`'s stdin on the host (a stream, never a plain file); its output."""
    proc = remote.stream(command, write=True)
    assert proc.stdin is not None
    try:
        with path.open("rb") as encrypted:
            pyrage.decrypt_io(encrypted, proc.stdin, [identity])
    except pyrage.DecryptError as exc:
        proc.kill()
        raise BackupError(f"{path}: cannot be decrypted with its key") from exc
    return remote.finish(proc, command)


def _clear_partials(domain_dir: Path, key_dir: Path) -> None:
    """Remove what a killed run left: partial backups and the keys made for them."""
    for partial in domain_dir.glob(".*.partial") if domain_dir.exists() else []:
        backup_id = partial.name[1:].removesuffix(".partial")
        shutil.rmtree(partial)
        (key_dir / f"{backup_id}.key").unlink(missing_ok=True)


def restore_kt13(directory: Path, parts: list[Part], identity: x25519.Identity, kt13_domain: str) -> None:
    """Rollback R: put the domain's KT 1.3 rows back as the backup holds them (domain row, then its
    messages; removing the domain row removes its messages). Verify with `still_current` afterwards."""
    problems = verify_files(directory)
    if problems:
        raise BackupError("restore refused: " + "; ".join(problems))
    manifest = {e["name"]: e for e in json.loads((directory / "manifest.json").read_text())["parts"]}
    tables = [p for p in parts if p.name.startswith("kt13-") and p.database]
    first = tables[0]
    first.remote.run(_psql(first.database or "", f"DELETE FROM domains WHERE id = {_literal(kt13_domain)}"))
    for part in tables:
        _decrypt_into(directory / manifest[part.name]["file"], identity, part.remote,
                      _psql(part.database or "", f"COPY {part.table} FROM STDIN"))


def running_again(kt13: Remote, database: str, kt13_domain: str) -> bool:
    """Whether KT 1.3 runs the domain again (inbound open or unfrozen): then its data is no longer the
    stopped state a P.2 backup holds, and a rollback must not overwrite it."""
    query = f"COPY (SELECT inbound_open OR NOT frozen FROM domains WHERE id = {_literal(kt13_domain)}) TO STDOUT"
    return kt13.run(_psql(database, query)).strip() == b"t"
