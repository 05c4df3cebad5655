"""The collection kt2ops.platform as Ansible Galaxy ships it: its plugins and the project's roles in one
tarball that `ansible-galaxy collection install` takes.

In the repository the collection's `plugins/` is a link to the top-level `plugins/`, and the roles live in
`roles/`, where ansible.cfg, molecule and ansible-lint find them. ansible-galaxy does not follow a link
out of a collection, so the build stages the tree as Galaxy lays it out (galaxy.yml, meta, plugins,
roles without their molecule scenarios) and builds that."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from kt2ops.errors import Kt2OpsError
from kt2ops.paths import PROJECT_ROOT, ansible_env

COLLECTION = PROJECT_ROOT / "collections" / "ansible_collections" / "kt2ops" / "platform"
# "plugins": the collection's link, replaced by a copy of what it points at.
LEFT_OUT = shutil.ignore_patterns("__pycache__", "*.pyc", "molecule", "plugins")


class CollectionError(Kt2OpsError):
    """The collection could not be built; the message carries ansible-galaxy's own."""


def build(output: Path) -> Path:
    """Build the collection tarball into `output` (replacing one of the same version); return its path."""
    galaxy = yaml.safe_load((COLLECTION / "galaxy.yml").read_text(encoding="utf-8"))
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kt2ops-collection-") as tmp:
        stage = Path(tmp) / "platform"
        shutil.copytree(COLLECTION, stage, ignore=LEFT_OUT)
        shutil.copytree(PROJECT_ROOT / "plugins", stage / "plugins", ignore=LEFT_OUT)
        shutil.copytree(PROJECT_ROOT / "roles", stage / "roles", ignore=LEFT_OUT)
        galaxy_bin = Path(sys.executable).with_name("ansible-galaxy")
        proc = subprocess.run([str(galaxy_bin), "collection", "build", str(stage), "--output-path", str(output),
                               "--force"], capture_output=True, text=True, env=ansible_env(), check=False)
        if proc.returncode != 0:
            raise CollectionError(f"ansible-galaxy collection build failed: {(proc.stderr or proc.stdout).strip()}")
    return output / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
