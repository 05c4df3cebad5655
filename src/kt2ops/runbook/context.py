"""What a runbook step needs to know of the inventory: the domain's file, its target environment,
every environment's facts and maintenance calendar. Built from Ansible's view of the inventory, both
inside a playbook (hostvars) and in the `kt2` commands (ansible-inventory)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kt2ops.inventory.check import check_inventory
from kt2ops.runbook.model import ANNOUNCE_DAYS, RunbookContext, RunbookError
from kt2ops.windows import MaintenanceCalendar

# What the runbook and the programme read of an environment's variables.
ENVIRONMENT_VARS = ("kt2_env", "kt2_maintenance", "kt2_migration_capacity", "kt2_programme")


def environment_vars(hostvars: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per environment (kt2_env.id), what the runbook needs of its first host (ENVIRONMENT_VARS)."""
    found: dict[str, dict[str, Any]] = {}
    for variables in hostvars.values():
        facts = variables.get("kt2_env")
        if isinstance(facts, dict) and facts.get("id") not in found:
            found[facts["id"]] = {k: variables.get(k) for k in ENVIRONMENT_VARS}
    return found


def load_domain(inventory: Path, domain_id: str) -> dict[str, Any]:
    report = check_inventory(inventory)
    if report.errors:
        raise RunbookError(f"{inventory}: the inventory has {len(report.errors)} error(s), first: {report.errors[0]}")
    for doc in report.documents:
        if doc["domain"]["id"] == domain_id:
            return doc
    raise RunbookError(f"{inventory}/domains: no domain {domain_id!r} (known: {', '.join(report.domains)})")


def build_context(inventory: Path, domain_id: str, env_vars: Mapping[str, Mapping[str, Any]],
                  target: str | None = None, announce_days: int = ANNOUNCE_DAYS) -> RunbookContext:
    """`env_vars` maps each environment id to the variables of one of its hosts (kt2_env, kt2_maintenance)."""
    return context_of(inventory, load_domain(inventory, domain_id), env_vars, target, announce_days)


def context_of(inventory: Path, doc: dict[str, Any], env_vars: Mapping[str, Mapping[str, Any]],
               target: str | None = None, announce_days: int = ANNOUNCE_DAYS,
               calendars: dict[str, MaintenanceCalendar | None] | None = None) -> RunbookContext:
    """The context of a domain file already checked (`check_inventory`'s documents); `calendars`: the
    environments' calendars, shared by the contexts of many domains."""
    environments = {env: dict(v["kt2_env"]) for env, v in env_vars.items() if "kt2_env" in v}
    if target is None:
        production = [e for e in doc["domain"]["environments"]
                      if environments.get(e, {}).get("data_class") == "production"]
        if not production:
            raise RunbookError(f"{doc['_file']}: domain.environments names no production environment to migrate to")
        target = production[0]
    if target not in doc["domain"]["environments"]:
        raise RunbookError(f"{doc['_file']}: domain.environments does not name the target {target!r}")
    maintenance = {env: (dict(v["kt2_maintenance"]) if v.get("kt2_maintenance") else None)
                   for env, v in env_vars.items()}
    return RunbookContext(inventory, doc, target, environments, maintenance, announce_days,
                          {} if calendars is None else calendars)
