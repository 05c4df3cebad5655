"""Data packages for moving production data (appendix B.1, B.2): a tar stream, encrypted with age to
a fresh X25519 identity, with a SHA-256 manifest of every file and of the encrypted package.

The identity (the secret) is written to a separate channel, a file the caller names outside the
package's directory (mode 0600), never beside the package and never to a log. Verification on the
receiving side checks the package against its manifest and records the result beside it.
"""

from __future__ import annotations

import json
import os
import tarfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pyrage
from pyrage import x25519

from kt2ops.digest import sha256_file
from kt2ops.errors import Kt2OpsError
from kt2ops.secrets import SecretError, age_identity, write_age_identity

SUFFIX = ".tar.age"


class PackageError(Kt2OpsError, RuntimeError):
    """The package cannot be sealed, verified or opened; the message names the file and what is wrong."""


def manifest_path(package: Path) -> Path:
    return package.with_name(package.name.removesuffix(SUFFIX) + ".manifest.json")


def verification_path(package: Path) -> Path:
    return package.with_name(package.name.removesuffix(SUFFIX) + ".verified.json")




def seal(sources: list[Path], out_dir: Path, name: str, key_out: Path) -> Path:
    """Pack `sources` (files or directories) into out_dir/<name>.tar.age; the identity goes to `key_out`."""
    out_dir = out_dir.resolve()
    if key_out.resolve().parent == out_dir or out_dir in key_out.resolve().parents:
        raise PackageError(f"{key_out}: the key must travel apart from the package, not inside {out_dir}")
    if key_out.exists():
        raise PackageError(f"{key_out}: exists already; a package gets a key of its own")
    files = _files(sources)
    identity = x25519.Identity.generate()
    out_dir.mkdir(parents=True, exist_ok=True)
    package = out_dir / f"{name}{SUFFIX}"
    entries: list[dict[str, Any]] = []
    read_end, write_end = os.pipe()
    # tar writes into a pipe on one thread while age encrypts from it: bounded memory for any size.
    writer = threading.Thread(target=_tar_into, args=(files, os.fdopen(write_end, "wb"), entries))
    writer.start()
    with os.fdopen(read_end, "rb") as tar_stream, package.open("wb") as out:
        pyrage.encrypt_io(tar_stream, out, [identity.to_public()])
    writer.join()
    key_out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_age_identity(key_out, identity)
    manifest = {"package": package.name, "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "encryption": "age X25519", "recipient": str(identity.to_public()),
                "encrypted": {"size": package.stat().st_size, "sha256": sha256_file(package)}, "files": entries}
    manifest_path(package).write_text(json.dumps(manifest, indent=2) + "\n")
    return package


def _files(sources: list[Path]) -> list[tuple[Path, str]]:
    found = []
    for source in sources:
        if not source.exists():
            raise PackageError(f"{source}: no such file or directory")
        if source.is_dir():
            found += [(p, str(p.relative_to(source.parent))) for p in sorted(source.rglob("*")) if p.is_file()]
        else:
            found.append((source, source.name))
    return found


def _tar_into(files: list[tuple[Path, str]], stream: IO[bytes], entries: list[dict[str, Any]]) -> None:
    with stream, tarfile.open(fileobj=stream, mode="w|") as tar:
        for path, arcname in files:
            entries.append({"path": arcname, "size": path.stat().st_size, "sha256": sha256_file(path)})
            tar.add(path, arcname=arcname, recursive=False)


def verify(package: Path) -> dict[str, Any]:
    """Check the encrypted package against its manifest (no key needed) and record the result beside it."""
    manifest = _manifest(package)
    actual = sha256_file(package) if package.exists() else None
    problems = []
    if actual is None:
        problems.append(f"{package}: missing")
    elif actual != manifest["encrypted"]["sha256"]:
        problems.append(f"{package}: SHA-256 {actual} differs from the manifest's {manifest['encrypted']['sha256']}")
    result = {"package": package.name, "ok": not problems, "sha256": actual, "problems": problems,
              "checked_at": datetime.now(UTC).isoformat(timespec="seconds")}
    verification_path(package).write_text(json.dumps(result, indent=2) + "\n")
    return result


def open_package(package: Path, key_file: Path, dest: Path) -> list[str]:
    """Verify, decrypt and unpack into `dest`; then check every file against the manifest. Returns the
    files unpacked; raises PackageError on any mismatch (nothing is left half-trusted: dest is new)."""
    result = verify(package)
    if not result["ok"]:
        raise PackageError("; ".join(result["problems"]))
    if dest.exists() and any(dest.iterdir()):
        raise PackageError(f"{dest}: not empty; a package is opened into a new directory")
    try:
        identity = age_identity(key_file)
    except SecretError as exc:
        raise PackageError(str(exc)) from exc
    dest.mkdir(parents=True, exist_ok=True)
    read_end, write_end = os.pipe()
    errors: list[BaseException] = []
    reader = threading.Thread(target=_untar_from, args=(os.fdopen(read_end, "rb"), dest, errors))
    reader.start()
    try:
        with package.open("rb") as encrypted, os.fdopen(write_end, "wb") as plain:
            pyrage.decrypt_io(encrypted, plain, [identity])
    except pyrage.DecryptError as exc:
        raise PackageError(f"{package}: cannot be decrypted with {key_file}") from exc
    except BrokenPipeError:
        pass  # the unpacking stopped early; its error says why
    finally:
        reader.join()
    if errors:
        raise PackageError(f"{package}: the content is not a valid tar stream: {errors[0]}")
    unpacked = []
    for entry in _manifest(package)["files"]:
        path = dest / entry["path"]
        if not path.is_file() or sha256_file(path) != entry["sha256"]:
            raise PackageError(f"{package}: {entry['path']} does not match the manifest after decryption")
        unpacked.append(entry["path"])
    return unpacked


def _untar_from(stream: IO[bytes], dest: Path, errors: list[BaseException]) -> None:
    try:
        with stream, tarfile.open(fileobj=stream, mode="r|") as tar:
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, OSError) as exc:
        errors.append(exc)


def _manifest(package: Path) -> dict[str, Any]:
    path = manifest_path(package)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PackageError(f"{path}: no readable manifest beside the package") from exc
