"""The local lab: one real Debian host (podman container running systemd and sshd) per environment.

The environments, their networks and host names come from the lab inventory's group_vars (kt2_env);
the lab creates what they describe and writes back only how to connect (zz_lab_connection.yml).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from kt2ops.inventory.model import Environment, Inventory, load_inventory
from kt2ops.lab.image import ensure_image
from kt2ops.lab.podman import LAB_LABEL, PodmanError, check_usable, labelled, podman, podman_json
from kt2ops.secrets import LAB_PASSWORD_FILE, SecretError, init_password_file, write_secret
from kt2ops.ssh_agent import identity_args

ENV_LABEL = "io.kt2ops.env"
CONNECTION_FILE = "zz_lab_connection.yml"
STATE_DIR = ".lab"
HOST_INDEX = 10
"""A lab host takes the 10th address of its environment's network (the gateway takes the 1st)."""
BOOT_TIMEOUT = 90.0


@dataclass(frozen=True)
class LabHost:
    env: str
    name: str  # inventory host name
    container: str
    network: str
    subnet: ipaddress.IPv4Network
    address: str
    service_hostname: str = ""


@dataclass
class HostStatus:
    host: LabHost
    state: str  # running / exited / stale / absent
    system: str  # systemd's is-system-running, or "-"
    ssh: str  # "ok" or the reason it is not


def lab_hosts(inventory: Inventory) -> list[LabHost]:
    hosts = []
    for env in inventory.environments():
        if len(env.hosts) != 1:
            raise PodmanError(f"{inventory.path}: the lab runs one host per environment; '{env.id}' has "
                              f"{len(env.hosts)}")
        hosts.append(_lab_host(env))
    return hosts


def _lab_host(env: Environment) -> LabHost:
    return LabHost(env=env.id, name=env.hosts[0], container=f"kt2ops-{env.id}", network=f"kt2ops-{env.id}",
                   subnet=env.network, address=str(env.network[HOST_INDEX]), service_hostname=env.service_hostname)


class Lab:
    def __init__(self, inventory_path: Path, progress: Callable[[str], None] = print) -> None:
        self.inventory_path = inventory_path
        self.state_dir = inventory_path / STATE_DIR
        self.key_file = self.state_dir / "id_ed25519"
        self.known_hosts = self.state_dir / "known_hosts"
        self.connection_file = inventory_path / CONNECTION_FILE
        self.progress = progress

    def hosts(self) -> list[LabHost]:
        return lab_hosts(load_inventory(self.inventory_path))

    # -- up ---------------------------------------------------------------------------------------
    def up(self) -> list[str]:
        """Bring the lab to the inventory's description. Returns what changed (empty: nothing)."""
        check_usable()
        hosts = self.hosts()
        changes: list[str] = []
        if init_password_file():
            changes.append(f"made the lab's vault password {LAB_PASSWORD_FILE}")
        tag, built = ensure_image(self.progress)
        if built:
            changes.append(f"built image {tag}")
        if self._ensure_key():
            changes.append(f"generated SSH key {self.key_file}")
        public_key = self.key_file.with_suffix(".pub").read_text().strip()
        for host in hosts:
            changes += self._ensure_network(host)
            changes += self._ensure_container(host, tag)
        for host in hosts:
            self._wait_for_boot(host)
            if self._ensure_authorized_key(host, public_key):
                changes.append(f"authorized the lab key on {host.name}")
        if self._write_if_changed(self.known_hosts, self._known_hosts_text(hosts)):
            changes.append(f"wrote {self.known_hosts}")
        if self._write_if_changed(self.connection_file, self._connection_text(hosts, public_key)):
            changes.append(f"wrote {self.connection_file}")
        failures = [f"{s.host.name}: {s.ssh}" for s in self.status(hosts) if s.ssh != "ok"]
        if failures:
            raise PodmanError("lab hosts are up but not reachable over SSH: " + "; ".join(failures))
        return changes

    def _ensure_key(self) -> bool:
        if self.key_file.exists():
            return False
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = ed25519.Ed25519PrivateKey.generate()
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                    serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH)
        write_secret(self.key_file, private, exclusive=True)
        self.key_file.with_suffix(".pub").write_bytes(public + b" kt2ops-lab\n")
        return True

    def _ensure_network(self, host: LabHost) -> list[str]:
        existing = podman_json("network", "ls", "--filter", f"name=^{host.network}$", "--format", "json")
        if existing:
            subnets = [s["subnet"] for s in existing[0].get("subnets", [])]
            if str(host.subnet) not in subnets:
                raise PodmanError(f"network {host.network} exists with subnet {subnets}, but the inventory "
                                  f"says {host.subnet}; run `kt2 lab down` first")
            return []
        # isolate=true: no traffic between the lab's networks (appendix B.5 starts at the network).
        podman("network", "create", "--opt", "isolate=true", "--subnet", str(host.subnet),
               "--label", f"{LAB_LABEL}=1", "--label", f"{ENV_LABEL}={host.env}", host.network)
        return [f"created network {host.network} ({host.subnet})"]

    def _ensure_container(self, host: LabHost, tag: str) -> list[str]:
        found = podman_json("ps", "-a", "--filter", f"name=^{host.container}$", "--format", "json")
        if found:
            if found[0].get("Image") != tag:
                self.progress(f"note: {host.container} runs an older image; `kt2 lab down && kt2 lab up` "
                              "recreates it")
            state = _state(found[0])
            if state == "running":
                return []
            if state == "stale":
                # Podman cannot start or stop such a container; a lab host is disposable, so make it anew.
                podman("rm", "--force", "--time", "5", host.container)
                self._run_container(host, tag)
                return [f"recreated {host.container} (its processes had died behind podman's back)"]
            try:
                podman("start", host.container)
                return [f"started {host.container}"]
            except PodmanError as err:
                # A container left "stopping" or "improper" (its podman killed mid-way, a machine
                # restart) cannot be started again; a lab host is disposable, so make it anew.
                self.progress(f"note: {host.container} ({state}) would not start, recreating it: {err}")
                podman("rm", "--force", "--time", "5", host.container)
                self._run_container(host, tag)
                return [f"recreated {host.container} (was {state})"]
        self._run_container(host, tag)
        return [f"started {host.container} at {host.address}"]

    @staticmethod
    def _run_container(host: LabHost, tag: str) -> None:
        # The environment's public name resolves on its own host, as DNS would make it: its services (HAPI
        # delivering notifications to the applications' endpoint) reach each other by it, with its certificate.
        names = ["--add-host", f"{host.service_hostname}:127.0.0.1"] if host.service_hostname else []
        podman("run", "--detach", "--name", host.container, "--hostname", host.name, *names,
               "--network", host.network, "--ip", host.address,
               "--systemd=always", "--cap-add", "NET_ADMIN",
               "--label", f"{LAB_LABEL}=1", "--label", f"{ENV_LABEL}={host.env}", tag)

    def _wait_for_boot(self, host: LabHost) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            if _system_state(host) in ("running", "degraded") and _tcp_open(host.address, 22):
                return
            if time.monotonic() > deadline:
                raise PodmanError(f"{host.container} did not finish booting within {BOOT_TIMEOUT:.0f}s "
                                  f"(systemd: {_system_state(host)}); see `podman logs {host.container}`")
            time.sleep(0.5)

    @staticmethod
    def _ensure_authorized_key(host: LabHost, public_key: str) -> bool:
        # First contact goes through podman (like cloud-init would); everything after it uses SSH.
        script = ('install -d -m 700 /root/.ssh && touch /root/.ssh/authorized_keys && '
                  'chmod 600 /root/.ssh/authorized_keys && '
                  'if grep -qxF "$1" /root/.ssh/authorized_keys; then echo present; '
                  'else echo "$1" >> /root/.ssh/authorized_keys; echo added; fi')
        out = podman("exec", host.container, "sh", "-c", script, "sh", public_key).stdout
        return out.strip() == "added"

    @staticmethod
    def _known_hosts_text(hosts: list[LabHost]) -> str:
        # Host keys are read through podman, a channel we trust, so SSH can check them strictly.
        lines = []
        for host in hosts:
            key = podman("exec", host.container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout.split()
            lines.append(f"{host.address} {key[0]} {key[1]}")
        return "\n".join(lines) + "\n"

    def _connection_text(self, hosts: list[LabHost], public_key: str) -> str:
        data = {"all": {
            "vars": {
                "ansible_user": "root",
                # The key is vault-encrypted: the file lookup opens it in memory and Ansible hands it to
                # the ssh-agent it runs (ansible.cfg: ssh_agent = auto).
                "kt2_ssh_key_file": str(self.key_file.resolve()),
                "ansible_ssh_private_key": "{{ lookup('ansible.builtin.file', kt2_ssh_key_file) }}",
                "ansible_ssh_common_args": f"-o UserKnownHostsFile={self.known_hosts.resolve()} "
                                           "-o StrictHostKeyChecking=yes",
                "kt2_admin_authorized_keys": [public_key],
            },
            "hosts": {h.name: {"ansible_host": h.address} for h in hosts},
        }}
        header = "# Written by `kt2 lab up`, removed by `kt2 lab down`: how to reach the lab hosts.\n"
        return header + yaml.safe_dump(data, sort_keys=True)

    @staticmethod
    def _write_if_changed(path: Path, text: str) -> bool:
        if path.exists() and path.read_text() == text:
            return False
        path.write_text(text)
        return True

    # -- status -----------------------------------------------------------------------------------
    def status(self, hosts: list[LabHost] | None = None) -> list[HostStatus]:
        hosts = hosts if hosts is not None else self.hosts()
        states = {c["Names"][0]: _state(c) for c in labelled("container")}
        if not self.key_file.exists():
            key: tuple[str, ...] | str = "no lab key (run `kt2 lab up`)"
        else:
            try:
                key = identity_args(str(self.key_file))
            except SecretError as exc:
                key = str(exc)
        with ThreadPoolExecutor(max_workers=len(hosts) or 1) as pool:
            return list(pool.map(lambda h: self._host_status(h, states.get(h.container, "absent"), key), hosts))

    def _host_status(self, host: LabHost, state: str, key: tuple[str, ...] | str) -> HostStatus:
        if state != "running":
            return HostStatus(host, state, "-", "host not running")
        return HostStatus(host, state, _system_state(host), self._ssh_check(host, key))

    def _ssh_check(self, host: LabHost, key: tuple[str, ...] | str) -> str:
        if isinstance(key, str):
            return key
        proc = subprocess.run(
            ["ssh", *key, "-o", f"UserKnownHostsFile={self.known_hosts}",
             "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
             f"root@{host.address}", "true"],
            capture_output=True, text=True, check=False,
        )
        return "ok" if proc.returncode == 0 else (proc.stderr.strip().splitlines() or ["ssh failed"])[-1]

    # -- down -------------------------------------------------------------------------------------
    def down(self) -> list[str]:
        """Remove every container and network carrying the lab label, and the connection files."""
        removed = []
        for container in labelled("container"):
            name = container["Names"][0]
            podman("rm", "--force", "--time", "5", name)
            removed.append(f"container {name}")
        for network in labelled("network"):
            podman("network", "rm", network["name"])
            removed.append(f"network {network['name']}")
        for path in (self.connection_file, self.known_hosts, self.key_file,
                     self.key_file.with_suffix(".pub")):
            if path.exists():
                path.unlink()
                removed.append(str(path))
        if self.state_dir.exists() and not any(self.state_dir.iterdir()):
            self.state_dir.rmdir()
        return removed


def _state(container: dict) -> str:
    """Podman's state of a container, or "stale" when podman lists it running but its processes are gone.

    That happens when a machine is restored or its processes are killed without a reboot podman would
    notice (its run directory is not on tmpfs here): podman then refuses to exec, stop or start it.
    """
    state = container.get("State", "?")
    if state == "running" and not _in_own_pid_namespace(container.get("Pid", 0)):
        return "stale"
    return state


def _in_own_pid_namespace(pid: int) -> bool:
    # A live container's init runs in a PID namespace of its own; a recycled PID would not (or not exist).
    try:
        return pid > 0 and os.readlink(f"/proc/{pid}/ns/pid") != os.readlink("/proc/self/ns/pid")
    except OSError:
        return False


def _system_state(host: LabHost) -> str:
    proc = podman("exec", host.container, "systemctl", "is-system-running", check=False)
    return proc.stdout.strip() or "unknown"


def _tcp_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False
