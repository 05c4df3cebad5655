"""The lab's base image: Debian bookworm with systemd, sshd and python3, built locally.

There is no image registry here, so the image is built with debootstrap and `podman import`. The tag
carries a hash of the recipe below: an unchanged recipe finds the cached image and builds nothing, a
changed recipe builds a new one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from kt2ops.lab.podman import PodmanError, podman, remove_superseded_images

SUITE = "bookworm"
MIRROR = os.environ.get("KT2OPS_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SECURITY_MIRROR = os.environ.get("KT2OPS_DEBIAN_SECURITY_MIRROR", "http://deb.debian.org/debian-security")
PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "python3-apt", "sudo",
    "iproute2", "tzdata", "ca-certificates", "procps", "nftables", "unattended-upgrades", "less",
    # Preloaded so that every provision and molecule scenario does not download them again; the roles
    # still install them (a no-op here) for real hosts.
    "postgresql", "python3-psycopg2", "acl", "nginx",
    # The JRE of the KT 2.0 FHIR server (HAPI FHIR JPA).
    "openjdk-17-jre-headless",
)

# Files written into the image, path -> content. Part of the recipe hash.
IMAGE_FILES: dict[str, str] = {
    "etc/apt/sources.list": "",
    "etc/apt/sources.list.d/debian.sources": (
        f"Types: deb\nURIs: {MIRROR}\nSuites: {SUITE} {SUITE}-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        f"Types: deb\nURIs: {SECURITY_MIRROR}\nSuites: {SUITE}-security\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    ),
    # Every container must get host keys of its own, not the ones debootstrap generated once.
    "etc/systemd/system/ssh.service.d/10-hostkeys.conf": (
        "[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n"
    ),
    "etc/dpkg/dpkg.cfg.d/01-nodoc": (
        "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n"
        "path-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n"
    ),
}
MASKED_UNITS = ("getty.target", "console-getty.service", "systemd-firstboot.service")
SETUP_SCRIPT = (
    "set -e; export DEBIAN_FRONTEND=noninteractive; "
    # The JRE's configuration runs java, which needs /proc; debootstrap leaves it unconfigured without.
    "mount -t proc proc /proc; trap 'umount /proc' EXIT; "
    "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; "
    "dpkg --configure -a; apt-get -q update; apt-get -q -y upgrade; apt-get clean; "
    # The lists are dropped to keep the image small; so must be the stamp that says they are fresh.
    "rm -rf /var/lib/apt/lists/* /var/lib/apt/periodic/update-success-stamp; touch -d @0 /var/lib/apt/lists; "
    "rm -f /usr/sbin/policy-rc.d /etc/ssh/ssh_host_*; "
    ": > /etc/machine-id; rm -f /etc/hostname; "
    # The cluster was created next to the build machine's ports; a host of the lab has 5432 to itself.
    "sed -i 's/^port = .*/port = 5432/' /etc/postgresql/*/main/postgresql.conf; "
    f"systemctl mask {' '.join(MASKED_UNITS)}; systemctl enable ssh.service"
)


IMPORT_CHANGES = ('CMD ["/sbin/init"]', "STOPSIGNAL=SIGRTMIN+3", "ENV=LANG=C.UTF-8",
                  "LABEL=io.kt2ops.image=lab-base")


def recipe_hash() -> str:
    recipe = "\n".join([SUITE, MIRROR, " ".join(PACKAGES), SETUP_SCRIPT, *IMPORT_CHANGES,
                        repr(sorted(IMAGE_FILES.items()))])
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


ALIAS = "localhost/kt2ops-lab-base:latest"
"""Stable name of the current image, for molecule scenarios (the real tag carries the recipe hash)."""


def image_tag() -> str:
    return f"localhost/kt2ops-lab-base:{SUITE}-{recipe_hash()}"


def image_exists(tag: str) -> bool:
    return podman("image", "exists", tag, check=False).returncode == 0


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise PodmanError(f"building the lab image failed at {what}:\n{tail}")


def ensure_image(progress: Callable[[str], None] = print) -> tuple[str, bool]:
    """Return (tag, built): build the base image unless the cached one matches the recipe."""
    tag = image_tag()
    built = not image_exists(tag)
    if built:
        _build(tag, progress)
    podman("tag", tag, ALIAS)
    if built:
        remove_superseded_images("io.kt2ops.image=lab-base", tag)
    return tag, built


def _build(tag: str, progress: Callable[[str], None]) -> None:
    if shutil.which("debootstrap") is None:
        raise PodmanError("debootstrap is not installed; run the README's set-up command")
    with tempfile.TemporaryDirectory(prefix="kt2ops-rootfs-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "rootfs"
        progress(f"debootstrap {SUITE} from {MIRROR} (cold build, a few minutes)")
        _run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
              SUITE, str(root), MIRROR], "debootstrap")
        for rel, content in IMAGE_FILES.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        progress("applying updates and container tweaks inside the root file system")
        _run(["chroot", str(root), "/bin/sh", "-c", SETUP_SCRIPT], "setup inside the chroot")
        progress(f"importing as {tag}")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(
            ["podman", "import", *(arg for c in IMPORT_CHANGES for arg in ("--change", c)), "-", tag],
            stdin=tar.stdout, capture_output=True, text=True, check=False,
        )
        tar.wait()
        if imp.returncode != 0 or tar.returncode != 0:
            raise PodmanError(f"podman import failed: {imp.stderr.strip()}")
