"""Where the migration reaches a KT 2.0 environment: its public name, where to connect, its PKI on the
control machine (the CA, and per domain the applications' keys), how its platform treats transactions and
limits requests (the environment's facts), and the directory a domain's migration to it keeps its reports
in: `<inventory>/.runbook/migration/<domain>/<environment>/`."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kt2ops.errors import Kt2OpsError
from kt2ops.inventory.model import load_inventory
from kt2ops.layout import pki_dir
from kt2ops.migration.client import FhirClient, Pacer
from kt2ops.runbook.state import audit_log, domain_state
from kt2ops.secrets import read_secret

ADMIN_APP_ID = "kt2ops-admin"  # the domain admin of every KT 2.0 domain (plugins/filter/domains.py)


@dataclass(frozen=True)
class Target:
    """A KT 2.0 environment as the migration reaches it: public name, where to connect, and its directory
    on the control machine's PKI (the CA, and per domain the applications' keys)."""

    environment: str
    base_url: str
    connect_host: str | None
    pki: Path
    transaction_rules: str  # kt2_env.transaction_rules: reference (entries stored as sent) or kt (stamped)
    rate_limit: float | None  # requests/s the ingress allows this machine; None: not limited (or exempt)
    report: Callable[[str], None] | None = None  # told of each retry while the target restarts
    # One pacer for every client of the target: they share this machine's address, which the ingress limits.
    pacer: Pacer | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pacer", Pacer(self.rate_limit) if self.rate_limit else None)

    def exempt(self) -> Target:
        """The target with this machine exempt from its ingress limit (runbook P.8L): no pacing."""
        return replace(self, rate_limit=None)

    @property
    def stamps_origin(self) -> bool:
        """Whether the server stamps resource-origin on a transaction's entries (else the client must)."""
        return self.transaction_rules == "kt"

    def client(self, domain: str, application: str = ADMIN_APP_ID, key: bytes | None = None) -> FhirClient:
        """An application's FHIR client: the domain admin unless named; its key from the PKI unless given (a
        supplier running its own part holds its own key)."""
        key = key or read_secret(self.pki / "apps" / domain / f"{application}.key")
        return FhirClient(self.base_url, domain, application, key, str(self.pki / "ca.crt"),
                          connect_host=self.connect_host, on_retry=self.report, pacer=self.pacer)


def target_of(hostvars: Mapping[str, Any], environment: str, inventory: Path,
              report: Callable[[str], None] | None = None) -> Target:
    """The target as an inventory host describes it (kt2_env: service_hostname, transaction_rules,
    ingress_limit; ansible_host), its keys in the inventory's PKI."""
    facts = hostvars["kt2_env"]
    limit = facts["ingress_limit"]
    return Target(environment, f"https://{facts['service_hostname']}", hostvars.get("ansible_host"),
                  pki_dir(inventory, hostvars) / environment, facts["transaction_rules"],
                  limit["rate"] if limit else None, report)


def environment_host(groups: Mapping[str, list[str]], environment: str) -> str:
    """The inventory host an environment's services are reached on: the first of its group."""
    hosts = groups.get(environment)
    if not hosts:
        raise Kt2OpsError(f"the inventory has no host in the group of the environment {environment!r}")
    return hosts[0]


def target_from_vars(task_vars: Mapping[str, Any], environment: str,
                     report: Callable[[str], None] | None = None) -> Target:
    """The target as a task sees it (its groups, hostvars and inventory_dir)."""
    host = environment_host(task_vars["groups"], environment)
    return target_of(task_vars["hostvars"][host], environment, Path(task_vars["inventory_dir"]), report)


def runbook_target(task_vars: Mapping[str, Any], environment: str, domain: str,
                   report: Callable[[str], None] | None = None) -> Target:
    """The target as a runbook step of `domain` reaches it: unpaced while the runbook holds the ingress limit's
    exemption (P.8L) open for this machine, as the audit trail says."""
    target = target_from_vars(task_vars, environment, report)
    inventory = Path(task_vars["inventory_dir"])
    return target.exempt() if domain_state(audit_log(inventory), domain).exempt_from_limit() else target


def target_in(inventory: Path, environment: str, report: Callable[[str], None] | None = None) -> Target:
    """The target of an environment of an inventory."""
    parsed = load_inventory(inventory)
    host = environment_host({environment: parsed.group_hosts(environment)}, environment)
    return target_of(parsed.hostvars[host], environment, inventory, report)


def migration_dir(inventory: Path, domain: str, environment: str) -> Path:
    """Where a domain's migration to an environment keeps its reports and checkpoint."""
    return inventory / ".runbook" / "migration" / domain / environment


def workdir(inventory: Path, domain: str, environment: str) -> Path:
    """The migration directory, made private (0700) for the personal data P.8 and M.2 hold there briefly."""
    path = migration_dir(inventory, domain, environment)
    path.mkdir(parents=True, exist_ok=True)
    for folder in (inventory / ".runbook", path):
        os.chmod(folder, 0o700)
    return path
