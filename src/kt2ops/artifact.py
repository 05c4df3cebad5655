"""The deployable artifacts of the lab's services, built on the control machine, named after a hash of their
recipe and cached:

- kt2ref (services/kt2ref): one tarball holding the Python package and its dependencies for the hosts'
  Python (CPython 3.11, manylinux x86_64), so the hosts need nothing but python3 and reach no package index;
- kt2fhir (services/kt2fhir): the HAPI FHIR server as one executable jar built by Maven, with its SHA-256
  beside it (`<jar>.sha256`), which the role checks on the host before it runs it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from kt2ops.errors import Kt2OpsError
from kt2ops.paths import PROJECT_ROOT

SERVICES = PROJECT_ROOT / "services"
OUTPUT = PROJECT_ROOT / "build" / "artifacts"
TARGET = ("--platform", "manylinux2014_x86_64", "--python-version", "3.11", "--implementation", "cp")
NOT_SOURCE = ("__pycache__", "*.egg-info", "build", "dist", "target")
"""Left behind by builds and imports; never part of the recipe."""
NAMES = ("kt2ref", "kt2fhir")


class ArtifactError(Kt2OpsError):
    """The artifact could not be built; the message says which step failed."""


def source_hash(name: str) -> str:
    source = SERVICES / name
    digest = hashlib.sha256(" ".join(TARGET).encode() if name == "kt2ref" else b"")
    ignored = shutil.ignore_patterns(*NOT_SOURCE)
    for path in sorted(p for p in source.rglob("*") if p.is_file()
                       and not any(ignored("", [part]) for part in p.relative_to(source).parts)):
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def artifact_path(name: str = "kt2ref") -> Path:
    suffix = ".jar" if name == "kt2fhir" else ".tar.gz"
    return OUTPUT / f"{name}-{source_hash(name)}{suffix}"


def build(name: str = "kt2ref", progress: Callable[[str], None] = print) -> Path:
    """The artifact for the current sources, built only when it does not exist yet."""
    if name not in NAMES:
        raise ArtifactError(f"unknown artifact {name!r}; one of {', '.join(NAMES)}")
    path = artifact_path(name)
    if path.exists():
        return path
    OUTPUT.mkdir(parents=True, exist_ok=True)
    progress(f"building {path.name}")
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as tmp:
        # Built from a copy: the build tools write into the tree they build, which must stay clean.
        source = Path(tmp) / "source"
        shutil.copytree(SERVICES / name, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
        partial = path.with_suffix(".partial")
        if name == "kt2ref":
            _pack_python(source, Path(tmp), partial)
        else:
            _pack_java(source, partial)
        if name == "kt2fhir":
            digest = hashlib.sha256(partial.read_bytes()).hexdigest()
            Path(f"{path}.sha256").write_text(f"{digest}  {path.name}\n")
        partial.rename(path)
    for old in OUTPUT.glob(f"{name}-*"):
        if old.name not in (path.name, f"{path.name}.sha256"):
            old.unlink()
    return path


def _pack_python(source: Path, tmp: Path, partial: Path) -> None:
    wheels, tree = tmp / "wheels", tmp / "tree"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)], "building the kt2ref wheel")
    wheel = next(wheels.glob("kt2ref-*.whl"))
    _run([*pip, "install", "--target", str(tree / "lib"), "--only-binary=:all:", *TARGET, str(wheel)],
         "collecting the dependencies")
    with tarfile.open(partial, "w:gz") as tar:
        tar.add(tree / "lib", arcname="lib")


def _pack_java(source: Path, partial: Path) -> None:
    _run(["mvn", "-B", "-q", "-f", str(source / "pom.xml"), "package", "-DskipTests"],
         "building the kt2fhir jar with Maven")
    shutil.move(source / "target" / "kt2fhir.jar", partial)


def _run(command: list[str], step: str) -> None:
    try:
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise ArtifactError(f"{step} failed: {command[0]} is not installed (scripts/setup.sh installs it)") from exc
    if proc.returncode != 0:
        raise ArtifactError(f"{step} failed:\n{(proc.stderr or proc.stdout)[-2000:]}")
