"""The programme of an inventory, read once: every domain's position and the plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kt2ops.errors import Kt2OpsError
from kt2ops.inventory.check import Report, check_inventory
from kt2ops.programme.estimate import DEFAULT_SETTINGS, window_need
from kt2ops.programme.planner import Finding, Plan, make_plan
from kt2ops.programme.position import Position, position
from kt2ops.runbook.context import context_of, environment_vars
from kt2ops.runbook.model import ANNOUNCE_DAYS, RunbookError
from kt2ops.runbook.state import DomainState, audit_log, domain_states
from kt2ops.windows import CalendarError, MaintenanceCalendar


class ProgrammeError(Kt2OpsError, ValueError):
    """The inventory cannot be read as a programme; the message names the file or field."""


@dataclass
class Programme:
    inventory: Path
    at: datetime
    settings: dict[str, Any]
    positions: list[Position]
    plan: Plan

    @property
    def findings(self) -> list[Finding]:
        return self.plan.findings

    def as_dict(self) -> dict[str, Any]:
        def row(pos: Position) -> dict[str, Any]:
            slot = self.plan.slot(pos.id)
            return {
                "domain": pos.id, "name": pos.name, "cluster": pos.cluster, "environments": pos.environments,
                "target": pos.target, "last_done": pos.last_done, "next_step": pos.next_step,
                "blocked_by": pos.blocked_by, "pending_decisions": pos.pending_decisions,
                "planned": pos.planned.isoformat() if pos.planned else None,
                "proposed": slot.start.isoformat() if slot and slot.proposed else None,
                "in_window": None if not pos.planned or pos.migrated else not any(
                    f.domain == pos.id and f.kind == "outside-window" for f in self.findings),
                "window": {"start": slot.window.start.isoformat(), "end": slot.window.end.isoformat(),
                           "rule": slot.window.rule} if slot else None,
                "why": slot.why if slot else self.plan.unplaced.get(pos.id),
                "trial": {k: pos.trial.get(k) for k in ("error_rate_percent", "seconds", "resources_per_second",
                                                        "finished")} if pos.trial else None,
                "estimate": {"resources": pos.estimate.resources, "p8_seconds": pos.estimate.seconds,
                             "window_seconds": window_need(pos.estimate, self.settings),
                             "exempt": pos.estimate.exempt, "basis": pos.estimate.basis},
                "live_since": pos.live_since.isoformat() if pos.live_since else None,
                "monitoring": pos.monitoring,
                "findings": [f.reason for f in self.findings if f.domain == pos.id]}
        return {"inventory": str(self.inventory), "at": self.at.isoformat(), "settings": self.settings,
                "domains": [row(p) for p in self.positions],
                "unplaced": self.plan.unplaced,
                "findings": [vars(f) for f in self.findings]}


def _settings(env_vars: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """kt2_programme (group_vars) over the defaults; kt2_migration_capacity per environment, checked."""
    settings = dict(DEFAULT_SETTINGS)
    for env, variables in env_vars.items():
        given = variables.get("kt2_programme") or {}
        for key, value in given.items():
            if key not in DEFAULT_SETTINGS:
                raise ProgrammeError(f"kt2_programme.{key}: unknown setting (known: {', '.join(DEFAULT_SETTINGS)})")
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ProgrammeError(f"kt2_programme.{key}: {value!r} is not a whole number >= 0")
        settings.update(given)
        capacity = variables.get("kt2_migration_capacity")
        if capacity is not None and (not isinstance(capacity, int | float) or isinstance(capacity, bool)
                                     or capacity <= 0):
            raise ProgrammeError(f"group_vars/{env}.yml: kt2_migration_capacity: {capacity!r} is not a number of "
                                 "resources per second above 0")
    return settings


def load_programme(inventory: Path, at: datetime, report: Report | None = None) -> Programme:
    """The programme of an inventory as at `at`; `report`: its `check_inventory` report, when already made."""
    report = report or check_inventory(inventory)
    if report.errors:
        raise ProgrammeError(f"{inventory}: the inventory has {len(report.errors)} error(s), first: "
                             f"{report.errors[0]} (kt2 inventory check)")
    env_vars = environment_vars(report.inventory.hostvars)
    settings = _settings(env_vars)
    calendars: dict[str, MaintenanceCalendar | None] = {}
    states = domain_states(audit_log(inventory))
    positions = []
    try:
        for doc in report.documents:
            ctx = context_of(inventory, doc, env_vars, announce_days=ANNOUNCE_DAYS, calendars=calendars)
            for env in env_vars:
                ctx.calendar(env)
            state = states.get(ctx.domain_id, DomainState(ctx.domain_id))
            capacity = env_vars[ctx.target].get("kt2_migration_capacity")
            positions.append(position(ctx, state, capacity, settings, at))
    except (RunbookError, CalendarError) as exc:
        raise ProgrammeError(str(exc)) from exc
    capacities = {env: v.get("kt2_migration_capacity") for env, v in env_vars.items()}
    plan = make_plan(positions, calendars, capacities, settings, at, ANNOUNCE_DAYS)
    return Programme(inventory, at, settings, positions, plan)
