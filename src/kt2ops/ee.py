"""The execution environment: execution-environment.yml built by ansible-builder on the lab's own base image,
and ansible-playbook run inside it by ansible-runner, as AWX runs a job.

There is no registry here and the build needs none: the wheelhouse (every Python package the image
installs) is filled on this machine first and pip installs from it alone; the only network the build uses
is Debian's mirror, for the system packages the definition names. The tag
carries a hash of what goes into the image (the definition, the pinned dependencies, the base image), so
an unchanged recipe finds the cached image. The project's own code is not in that hash: at run time the
checkout is mounted and its src/ comes first on PYTHONPATH, as in AWX."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import IO

import ansible_runner
import yaml

from kt2ops.errors import Kt2OpsError
from kt2ops.lab.image import ensure_image as ensure_base_image
from kt2ops.lab.image import image_exists
from kt2ops.lab.podman import PodmanError, podman, remove_superseded_images
from kt2ops.paths import PROJECT_ROOT
from kt2ops.secrets import password_sources

DEFINITION = PROJECT_ROOT / "execution-environment.yml"
BUILD_DIR = PROJECT_ROOT / "build" / "ee"
REPOSITORY = "localhost/kt2ops-ee"
LABEL = "io.kt2ops.image=kt2ops-ee"
# Installed by ansible-builder's own stages besides the definition's dependencies: the builder stage's
# bindep and its helpers, and the final stage's init (its default in schema 3).
BUILDER_PACKAGES = ("bindep", "pyyaml", "packaging")
DEFAULT_INIT = "dumb-init==1.2.5"


class EEError(Kt2OpsError, RuntimeError):
    """The execution environment could not be built or run; the message names the step."""


def _definition() -> dict:
    return yaml.safe_load(DEFINITION.read_text(encoding="utf-8"))


def _pinned_dependencies() -> list[str]:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]


def image_tag(base_tag: str) -> str:
    recipe = "\n".join([DEFINITION.read_text(encoding="utf-8"), *_pinned_dependencies(), base_tag])
    return f"{REPOSITORY}:{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-20:])
        raise EEError(f"building the execution environment failed at {what}:\n{tail}")


def _fill_wheelhouse(definition: dict, wheels: Path) -> None:
    deps = definition["dependencies"]
    init = definition.get("options", {}).get("container_init", {}).get("package_pip", DEFAULT_INIT)
    shutil.rmtree(wheels, ignore_errors=True)
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--wheel-dir", str(wheels),
          str(PROJECT_ROOT), "pip", deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"],
          *BUILDER_PACKAGES, init], "pip wheel (the wheelhouse)")


def ensure_image(progress: Callable[[str], None] = print) -> tuple[str, bool]:
    """Return (tag, built): build the execution environment unless the cached one matches the recipe."""
    base_tag, _ = ensure_base_image(progress)
    tag = image_tag(base_tag)
    built = not image_exists(tag)
    if built:
        definition = _definition()
        progress("filling the wheelhouse (build/ee/wheels) from PyPI")
        _fill_wheelhouse(definition, BUILD_DIR / "wheels")
        context = BUILD_DIR / "context"
        progress("ansible-builder create")
        _run([str(Path(sys.executable).with_name("ansible-builder")), "create", "--file", str(DEFINITION),
              "--context", str(context), "--output-filename", "Containerfile"], "ansible-builder create")
        progress(f"podman build {tag} (Python packages from the wheelhouse)")
        # Host network for Debian's mirror (as the lab image's build). No layers: no stage images are left.
        _run(["podman", "build", "--network=host", "--pull=never", "--layers=false",
              "--file", str(context / "Containerfile"), "--tag", tag, str(context)], "podman build")
    podman("tag", tag, f"{REPOSITORY}:latest")
    if built:
        remove_superseded_images(LABEL, tag)
    return tag, built


def _vault_sources() -> tuple[dict[str, str], list[str]]:
    """The vault password sources Ansible's configuration names, as environment for the container (absolute
    paths) and the files to mount read-only at the same paths."""
    env: dict[str, str] = {}
    mounts: list[str] = []
    identities = []
    configured, password_file = password_sources()
    for vault_id, source in configured:
        if source.startswith("prompt"):
            raise EEError(f"a vault password prompt ({vault_id}@{source}) cannot be answered inside the execution "
                          "environment; give a password file or script")
        path = str(Path(source).expanduser().resolve())
        identities.append(f"{vault_id}@{path}" if vault_id else path)
        mounts.append(path)
    if identities:
        env["ANSIBLE_VAULT_IDENTITY_LIST"] = ",".join(identities)
    if password_file:
        env["ANSIBLE_VAULT_PASSWORD_FILE"] = str(Path(password_file).expanduser().resolve())
        mounts.append(env["ANSIBLE_VAULT_PASSWORD_FILE"])
    missing = [m for m in mounts if not Path(m).exists()]
    if missing:
        raise EEError(f"vault password source not found: {', '.join(missing)} (run `kt2 vault init` for the lab's)")
    return env, mounts


def run_playbook(args: list[str], image: str, output: IO[str] | None = None) -> int:
    """Run `ansible-playbook ARGS` inside the execution environment with ansible-runner and return its exit
    code. The checkout is mounted at its own path and is the working directory, so ansible.cfg, relative
    paths and the lab's absolute ones (key, known_hosts) mean what they mean here; the lab's networks are
    reached through the host's."""
    env, mounts = _vault_sources()
    env |= {"ANSIBLE_CONFIG": str(PROJECT_ROOT / "ansible.cfg"), "KT2OPS_HOME": str(PROJECT_ROOT),
            "PYTHONPATH": str(PROJECT_ROOT / "src"), "ANSIBLE_FORCE_COLOR": os.environ.get("ANSIBLE_FORCE_COLOR", "0")}
    with tempfile.TemporaryDirectory(prefix="kt2ops-runner-") as private:
        try:
            _, _, rc = ansible_runner.run_command(
                executable_cmd="ansible-playbook", cmdline_args=args, private_data_dir=private,
                runner_mode="subprocess", output_fd=output or sys.stdout, error_fd=output or sys.stderr,
                process_isolation=True, process_isolation_executable="podman", container_image=image,
                host_cwd=str(PROJECT_ROOT), container_volume_mounts=[f"{m}:{m}:ro" for m in mounts],
                container_options=["--network=host", "--user=0"], envvars=env)
        except Exception as exc:  # ansible-runner raises its own and OSError alike for a run that cannot start
            raise PodmanError(f"ansible-runner could not start the run in {image}: {exc}") from exc
    return rc


def run_in_ee(args: list[str], progress: Callable[[str], None] = print) -> int:
    """`ansible-playbook ARGS` in the execution environment, built first when its recipe changed."""
    return run_playbook(args, ensure_image(progress)[0])
