"""A thin, typed wrapper around the podman CLI.

The CLI (not the REST socket) is used on purpose: it needs no service running, it is what an operator
would type, and its errors are readable as they are.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from kt2ops.errors import Kt2OpsError

LAB_LABEL = "io.kt2ops.lab"
"""Every object the lab creates carries this label; `lab down` removes exactly those."""


class PodmanError(Kt2OpsError, RuntimeError):
    """podman is missing, cannot run containers, or a podman command failed."""


def podman(*args: str, check: bool = True, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `podman ARGS`; raise PodmanError with podman's own message when it fails."""
    exe = shutil.which("podman")
    if exe is None:
        raise PodmanError(
            "podman is not installed (no `podman` on PATH); run the README's set-up command, "
            "or `apt-get install podman runc`"
        )
    proc = subprocess.run(
        [exe, *args], capture_output=True, text=True, input=input_text, check=False
    )
    if check and proc.returncode != 0:
        message = proc.stderr.strip() or proc.stdout.strip() or f"exit code {proc.returncode}"
        raise PodmanError(f"`podman {' '.join(args[:3])}` failed: {message}")
    return proc


def remove_superseded_images(label: str, current: str) -> None:
    """Remove the images carrying `label` (key=value) other than `current`; one still used by a container
    stays (podman refuses). Call it after every other name has moved to `current`: podman also keeps an
    image that still has two names."""
    for image in podman_json("images", "--filter", f"label={label}", "--format", "json"):
        if current not in (image.get("Names") or []):
            podman("rmi", image["Id"], check=False)


def podman_json(*args: str) -> Any:
    """Run a podman command whose output is JSON and parse it."""
    out = podman(*args).stdout.strip()
    return json.loads(out) if out else []


def check_usable() -> None:
    """Fail early, with a clear message, when podman cannot run containers here."""
    info = podman_json("info", "--format", "json")
    runtime = info.get("host", {}).get("ociRuntime", {}).get("name", "?")
    if runtime == "crun":
        raise PodmanError(
            "podman uses the crun runtime, which fails on this machine's cgroup layout; set "
            'runtime = "runc" in /etc/containers/containers.conf.d/ (the README\'s set-up does this)'
        )


def labelled(kind: str) -> list[dict[str, Any]]:
    """The containers or networks (kind) that carry the lab label."""
    if kind == "container":
        return podman_json("ps", "-a", "--filter", f"label={LAB_LABEL}", "--format", "json")
    if kind == "network":
        return podman_json("network", "ls", "--filter", f"label={LAB_LABEL}", "--format", "json")
    raise ValueError(kind)
