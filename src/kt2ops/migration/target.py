"""Where the migration reaches a KT 2.0 environment: its public name, where to connect, its PKI on the
control machine (the CA, and per domain the applications' keys), and the directory a domain's migration
to it keeps its reports in: `<inventory>/.runbook/migration/<domain>/<environment>/`."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kt2ops.migration.client import FhirClient
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
    report: Callable[[str], None] | None = None  # told of each retry while the target restarts

    def client(self, domain: str, application: str = ADMIN_APP_ID, key: bytes | None = None) -> FhirClient:
        """An application's FHIR client: the domain admin unless named; its key from the PKI unless given (a
        supplier running its own part holds its own key)."""
        key = key or read_secret(self.pki / "apps" / domain / f"{application}.key")
        return FhirClient(self.base_url, domain, application, key, str(self.pki / "ca.crt"),
                          connect_host=self.connect_host, on_retry=self.report)


def target_of(hostvars: dict[str, Any], environment: str, pki_dir: Path,
              report: Callable[[str], None] | None = None) -> Target:
    """The target as an inventory host describes it (kt2_env.service_hostname, ansible_host)."""
    name = hostvars["kt2_env"]["service_hostname"]
    return Target(environment, f"https://{name}", hostvars.get("ansible_host"), pki_dir / environment, report)


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
