"""The deployable artifact of the lab's reference services (services/kt2ref): one tarball holding the
package and its dependencies for the hosts' Python (CPython 3.11, manylinux x86_64), so the hosts need
nothing but python3 and reach no package index. Named after a hash of its recipe and cached."""

from __future__ import annotations

import hashlib
import shutil
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
NOT_SOURCE = ("__pycache__", "*.egg-info", "build", "dist")
"""Left behind by builds and imports; never part of the recipe."""


class ArtifactError(Exception):
    """The artifact could not be built; the message says which step failed."""


def source_hash() -> str:
    digest = hashlib.sha256(" ".join(TARGET).encode())
    ignored = shutil.ignore_patterns(*NOT_SOURCE)
    for path in sorted(p for p in SOURCE.rglob("*") if p.is_file()
                       and not any(ignored("", [part]) for part in p.relative_to(SOURCE).parts)):
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
        wheels, tree, source = Path(tmp) / "wheels", Path(tmp) / "tree", Path(tmp) / "source"
        # Built from a copy: setuptools writes build/ into the tree it builds, which must stay clean.
        shutil.copytree(SOURCE, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
        _run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)], "building the kt2ref wheel")
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
