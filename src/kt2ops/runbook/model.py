"""The runbook's model of one domain's run: what a step knows of the inventory (RunbookContext, built by
`context`) and what the gate (`gate`) judges with it, apart from both so that neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kt2ops.errors import Kt2OpsError
from kt2ops.windows import MaintenanceCalendar

ANNOUNCE_DAYS = 14  # a production migration is announced this many days before it starts


class RunbookError(Kt2OpsError, ValueError):
    """The runbook cannot act on this input; the message names the file, field or step."""


@dataclass
class RunbookContext:
    inventory: Path
    domain: dict[str, Any]
    target: str
    environments: dict[str, dict[str, Any]]
    maintenance: dict[str, dict[str, Any] | None]
    announce_days: int = ANNOUNCE_DAYS
    _calendars: dict[str, MaintenanceCalendar | None] = field(default_factory=dict)

    @property
    def domain_id(self) -> str:
        return self.domain["domain"]["id"]

    @property
    def trial(self) -> str | None:
        """The domain's trial-migration environment: the one holding a copy of production (appendix A)."""
        return next((e for e in self.domain["domain"]["environments"]
                     if self.environments.get(e, {}).get("data_class") == "production_copy"), None)

    def calendar(self, env_id: str) -> MaintenanceCalendar | None:
        if env_id not in self._calendars:
            spec = self.maintenance.get(env_id)
            self._calendars[env_id] = None if spec is None else MaintenanceCalendar(
                env_id, spec, self.environments[env_id].get("data_class") == "production",
                source=f"{self.inventory}/group_vars/{env_id}.yml")
        return self._calendars[env_id]
