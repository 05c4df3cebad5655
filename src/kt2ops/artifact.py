"""The deployable artifact of the lab's reference services (services/kt2ref): one tarball holding the
package and its dependencies for the hosts' Python (CPython 3.11, manylinux x86_64), so the hosts need
nothing but python3 and reach no package index. Named after a hash of its recipe and cached."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from kt2ops.paths import PROJECT_ROOT

SOURCE = PROJECT_ROOT / "services" / "kt2ref"
OUTPUT = PROJECT_ROOT / "build" / "artifacts"
TARGET = ("--platform", "manylinux2014_x86_64", "--python-version", "3.11", "--implementation", "cp")


class ArtifactError(Exception):
    """The artifact could not be built; the message says which step failed."""


def source_hash() -> str:
    digest = hashlib.sha256(" ".join(TARGET).encode())
    for path in sorted(p for p in SOURCE.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                       and ".egg-info" not in str(p)):
        digest.update(str(path.relative_to(SOURCE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def artifact_path() -> Path:
    return OUTPUT / f"kt2ref-{source_hash()}.tar.gz"


def build(progress: Callable[[str], None] = print) -> Path:
    """The artifact for the current sources, built only when it does not exist yet."""
    path = artifact_path()
    if path.exists():
        return path
    OUTPUT.mkdir(parents=True, exist_ok=True)
    progress(f"building {path.name}")
    with tempfile.TemporaryDirectory(prefix="kt2ref-") as tmp:
        wheels, tree = Path(tmp) / "wheels", Path(tmp) / "tree"
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
        _run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(SOURCE)], "building the kt2ref wheel")
        wheel = next(wheels.glob("kt2ref-*.whl"))
        _run([*pip, "install", "--target", str(tree / "lib"), "--only-binary=:all:", *TARGET, str(wheel)],
             "collecting the dependencies")
        partial = path.with_suffix(".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(tree / "lib", arcname="lib")
        partial.rename(path)
    for old in OUTPUT.glob("kt2ref-*.tar.gz"):
        if old != path:
            old.unlink()
    return path


def _run(command: list[str], step: str) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ArtifactError(f"{step} failed:\n{proc.stderr[-2000:]}")
