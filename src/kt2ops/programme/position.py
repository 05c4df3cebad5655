"""Where one domain stands in the programme: its runbook position (from the audit trail), its planned date,
its trial's figures, and its heightened monitoring after go-live."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from kt2ops.migration.target import migration_dir
from kt2ops.programme.estimate import Estimate, estimate
from kt2ops.runbook.catalogue import catalogue
from kt2ops.runbook.gate import evaluate
from kt2ops.runbook.model import RunbookContext
from kt2ops.runbook.state import DomainState

TRIAL_ENVIRONMENT = "mgr2"


@dataclass
class Position:
    id: str
    name: str
    cluster: str
    environments: list[str]
    target: str
    file: str
    last_done: str  # "Q.10 Open production (2026-12-07)" or "-"
    next_step: str | None  # None once every automated step is done
    blocked_by: list[str]
    pending_decisions: list[str]
    decided: dict[str, str]  # decision id -> the value on record
    planned: datetime | None
    announced: date | None
    trial: dict[str, Any] | None
    estimate: Estimate
    live_since: datetime | None
    monitoring: str
    findings: list[str] = field(default_factory=list)

    @property
    def migrated(self) -> bool:
        return self.live_since is not None


def _trial(ctx: RunbookContext, state: DomainState) -> dict[str, Any] | None:
    """The report of the domain's trial migration, when M.2 is on record as done."""
    report = migration_dir(ctx.inventory, ctx.domain_id, TRIAL_ENVIRONMENT) / "trial.json"
    if not state.done("M.2") or not report.is_file():
        return None
    return json.loads(report.read_text())


def _pending_decisions(state: DomainState, next_step: str | None) -> list[str]:
    """The decisions not on record up to the next phase that waits for one (O before the migration)."""
    book = catalogue()
    phases = [p["id"] for p in book.phases]
    open_ = [d for d in book.decisions.values() if d.id not in state.decisions]
    upcoming = [d for d in open_ if next_step and phases.index(d.id.split(".")[0]) >= phases.index(
        next_step.split(".")[0])]
    if not upcoming:
        return []
    gate = phases.index(upcoming[0].id.split(".")[0])
    return [f"{d.id} {d.en}" for d in open_ if phases.index(d.id.split(".")[0]) <= gate]


def _when(run_at: str | None) -> datetime | None:
    return datetime.fromisoformat(run_at) if run_at else None


def position(ctx: RunbookContext, state: DomainState, capacity: float | None, settings: dict[str, Any],
             now: datetime) -> Position:
    book = catalogue()
    doc = ctx.domain
    done = [r for r in state.runs if r.result == "ok" and not r.undo and not r.check_mode]
    last = done[-1] if done else None
    # Next: the first step after the furthest one done (rollback R is never the next step, only a way back).
    order = list(book.steps.values())
    furthest = max((i for i, s in enumerate(order) if state.done(s.id)), default=-1)
    following = next((s for s in order[furthest + 1:] if s.id != "R" and not state.done(s.id)), None)
    blocked = evaluate(ctx, state, following.id, False, now).refusals if following else []
    decisions = _pending_decisions(state, following.id if following else None)
    opened = state.last_run("Q.10")
    live = _when(opened.ended) if opened and state.done("Q.10") else None
    planned = doc["migration"].get("planned", {})
    start = datetime.fromisoformat(planned["start"]) if "start" in planned else None
    announced = date.fromisoformat(planned["announced"]) if "announced" in planned else None
    days = settings["monitoring_days"]
    lowered = state.decision("Q.11")
    if live and lowered:
        monitoring = f"lowered {lowered['at'][:10]} (Q.11, {lowered['by']})"
    elif live:
        monitoring = f"heightened until {(live + timedelta(days=days)):%Y-%m-%d} ({days} days from go-live)"
    elif start:
        monitoring = f"planned {start:%Y-%m-%d} to {(start + timedelta(days=days)):%Y-%m-%d}"
    else:
        monitoring = "-"
    trial = _trial(ctx, state)
    return Position(
        id=ctx.domain_id, name=doc["domain"]["name"], cluster=doc["domain"]["cluster"],
        environments=list(doc["domain"]["environments"]), target=ctx.target, file=doc["_file"],
        last_done=f"{last.label} {book.steps[last.step].en if last.step in book.steps else ''} ({last.started[:10]})"
        if last else "-",
        next_step=f"{following.id} {following.en}" if following else None, blocked_by=blocked,
        pending_decisions=decisions, decided={k: v["value"] for k, v in state.decisions.items()},
        planned=start, announced=announced, trial=trial,
        estimate=estimate(doc, ctx.environments[ctx.target], capacity, trial), live_since=live, monitoring=monitoring)
