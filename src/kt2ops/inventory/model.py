"""The inventory as kt2 sees it: environments, their hosts and facts.

Ansible itself parses the inventory (`ansible-inventory --list`), so kt2 reads exactly what a playbook
would see, whatever the source format.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kt2ops.errors import Kt2OpsError
from kt2ops.paths import ansible_env

KT2_GROUP = "kt2"
"""The group whose children are the KT 2.0 environments (acc21, acc22, mgr2, prd2)."""
KT13_GROUP = "kt13"


class InventoryError(Kt2OpsError, RuntimeError):
    """The inventory cannot be read at all (missing path, syntax Ansible rejects)."""


@dataclass(frozen=True)
class Environment:
    id: str
    network: ipaddress.IPv4Network
    hosts: tuple[str, ...]
    service_hostname: str = ""  # the public name its services are reached at (KT 2.0 and the KT 1.3 server)


@dataclass
class Inventory:
    path: Path
    groups: dict[str, dict[str, Any]]
    hostvars: dict[str, dict[str, Any]]

    def group_hosts(self, group: str) -> list[str]:
        """All hosts of a group, children included (as Ansible's `-l GROUP` would select)."""
        entry = self.groups.get(group, {})
        hosts = list(entry.get("hosts", []))
        for child in entry.get("children", []):
            hosts += [h for h in self.group_hosts(child) if h not in hosts]
        return hosts

    @property
    def kt2_environment_ids(self) -> list[str]:
        return list(self.groups.get(KT2_GROUP, {}).get("children", []))

    @property
    def environment_ids(self) -> list[str]:
        return [*self.kt2_environment_ids, *([KT13_GROUP] if KT13_GROUP in self.groups else [])]

    def environment(self, env_id: str) -> Environment:
        hosts = self.group_hosts(env_id)
        if not hosts:
            raise InventoryError(f"{self.path}: environment group '{env_id}' has no hosts")
        facts = self.hostvars.get(hosts[0], {}).get("kt2_env")
        if not isinstance(facts, dict):
            raise InventoryError(f"{self.path}: group_vars of '{env_id}' do not define kt2_env")
        return Environment(id=env_id, network=ipaddress.IPv4Network(str(facts.get("network"))),
                           hosts=tuple(hosts), service_hostname=str(facts.get("service_hostname", "")))

    def environments(self) -> list[Environment]:
        return [self.environment(e) for e in self.environment_ids]


def _ansible_inventory() -> str:
    beside = Path(sys.executable).parent / "ansible-inventory"
    found = str(beside) if beside.exists() else shutil.which("ansible-inventory")
    if not found:
        raise InventoryError("ansible-inventory not found; run the README's set-up command")
    return found


def load_inventory(path: Path) -> Inventory:
    """Parse an inventory with Ansible. Raises InventoryError naming the path on failure."""
    if not path.exists():
        raise InventoryError(f"{path}: no such inventory")
    proc = subprocess.run(
        [_ansible_inventory(), "-i", str(path), "--list"],
        capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        # By default Ansible only warns about a source it cannot parse and goes on without it.
        env={**ansible_env(), "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
             "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"},
    )
    if proc.returncode != 0:
        raise InventoryError(f"{path}: Ansible cannot parse the inventory: {proc.stderr.strip()}")
    data = json.loads(proc.stdout)
    hostvars = data.pop("_meta", {}).get("hostvars", {})
    return Inventory(path=path, groups=data, hostvars=hostvars)
