"""Runbook S.4 and S.5: the domain's KT 1.3 message log archived compressed (gzip), hashed and encrypted
(a kt2ops data package: age, SHA-256 manifest), and proven to restore to exactly what KT 1.3 held before
S.5 may remove the domain there."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kt2ops.errors import Kt2OpsError
from kt2ops.migration.p8 import fetch_export
from kt2ops.remote import Remote
from kt2ops.security.package import PackageError, manifest_path, open_package, seal


class ArchiveError(Kt2OpsError, RuntimeError):
    """The archive is missing, does not verify, or no longer matches KT 1.3."""


def _paths(archives: Path, keys: Path, domain: str, kt13_domain: str) -> tuple[Path, Path, Path]:
    folder = archives / domain
    return folder / f"S4-{kt13_domain}.tar.age", folder / "S4-archive.json", keys / domain / "S4-archive.key"


def _scratch(parent: Path) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    os.chmod(parent, 0o700)
    return Path(tempfile.mkdtemp(dir=parent, prefix=".s4-"))


def archive(kt13: Remote, domain: str, kt13_domain: str, archives: Path, keys: Path) -> tuple[dict[str, Any], bool]:
    """Archive what KT 1.3 holds of the domain now, unless a verified archive of exactly that exists."""
    package, record, key = _paths(archives, keys, domain, kt13_domain)
    scratch = _scratch(archives)
    try:
        export = scratch / f"{kt13_domain}-messages.jsonl"
        digest = fetch_export(kt13, kt13_domain, export)
        if record.exists() and json.loads(record.read_text())["export_sha256"] == digest:
            try:
                return verify(domain, kt13_domain, archives, keys), False
            except ArchiveError:
                pass  # damaged or incomplete: archive again
        compressed = scratch / "pack" / f"{export.name}.gz"
        compressed.parent.mkdir()
        with export.open("rb") as plain, gzip.GzipFile(compressed, "wb", mtime=0) as packed:
            shutil.copyfileobj(plain, packed)
        rows = sum(1 for line in export.open("rb") if line.strip())
        key.parent.mkdir(parents=True, exist_ok=True)
        for stale in (package, key):
            stale.unlink(missing_ok=True)
        sealed = seal([compressed], package.parent, package.name.removesuffix(".tar.age"), key)
        record.write_text(json.dumps({"domain": domain, "kt13_domain": kt13_domain, "package": sealed.name,
                                      "export_sha256": digest, "rows": rows}, indent=1) + "\n")
    finally:
        shutil.rmtree(scratch)
    return verify(domain, kt13_domain, archives, keys), True


def verify(domain: str, kt13_domain: str, archives: Path, keys: Path, kt13: Remote | None = None) -> dict[str, Any]:
    """Open the archive (manifest, decryption, every file), decompress it and compare its hash with the
    export it was made of; with `kt13`, also require KT 1.3 to hold exactly that still."""
    package, record, key = _paths(archives, keys, domain, kt13_domain)
    if not record.exists():
        raise ArchiveError(f"no S.4 archive of {kt13_domain} ({record} is missing): run S.4 first")
    made = json.loads(record.read_text())
    scratch = _scratch(archives)
    try:
        open_package(package, key, scratch / "open")
        digest = hashlib.sha256()
        with gzip.open(scratch / "open" / f"{kt13_domain}-messages.jsonl.gz", "rb") as plain:
            while chunk := plain.read(1 << 20):
                digest.update(chunk)
        if digest.hexdigest() != made["export_sha256"]:
            raise ArchiveError(f"{package}: decompressed, it hashes to {digest.hexdigest()}, not the archived "
                               f"{made['export_sha256']}")
        if kt13 is not None and fetch_export(kt13, kt13_domain, scratch / "now.jsonl") != made["export_sha256"]:
            raise ArchiveError(f"KT 1.3 holds other data of {kt13_domain} than the S.4 archive: archive again")
    except PackageError as exc:
        raise ArchiveError(str(exc)) from exc
    finally:
        shutil.rmtree(scratch)
    return {**made, "verified": True,
            "encrypted_sha256": json.loads(manifest_path(package).read_text())["encrypted"]["sha256"]}
