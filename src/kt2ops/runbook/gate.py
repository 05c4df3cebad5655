"""Whether a runbook step may run now: its preconditions, the O checklist, the maintenance window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kt2ops.runbook.catalogue import Catalogue, Step, catalogue
from kt2ops.runbook.model import ANNOUNCE_DAYS, RunbookContext
from kt2ops.runbook.state import DomainState
from kt2ops.windows import MaintenanceCalendar


@dataclass(frozen=True)
class Check:
    id: str
    text: str
    met: bool
    reason: str


def preconditions(catalogue: Catalogue, state: DomainState, step: Step, undo: bool) -> list[str]:
    """What keeps `step` from running, in words; empty when it may. An undo may always run (rollback R)."""
    if undo:
        return [] if step.undo else [f"{step.id} has no undo (it changes nothing that rollback must reverse)"]
    missing = [f"{step.id} needs {need} done first ({catalogue.step(need).en}); it is {state.status(need)}"
               for need in step.requires if not state.done(need)]
    for decision, value in step.decisions:
        spec = catalogue.decisions[decision]
        met, why = _decided(state, decision, value, spec.roles)
        if not met:
            missing.append(f"{step.id} needs {decision} {spec.en}: {value}; {why}")
    return missing


def window_check(step: Step, environment: dict[str, Any], calendar: MaintenanceCalendar | None, at: datetime,
                 emergency_reason: str) -> tuple[bool, str]:
    """A disruptive step on a production environment runs inside a maintenance window, or with a reason."""
    if not step.disruptive or environment.get("data_class") != "production":
        return True, f"{step.id} needs no maintenance window on {environment.get('id')}"
    found = calendar.window_at(at) if calendar else None
    if found:
        return True, f"inside the maintenance window {found.start:%Y-%m-%d %H:%M}-{found.end:%H:%M} ({found.rule})"
    if emergency_reason.strip():
        return True, f"outside a maintenance window: emergency override, reason: {emergency_reason.strip()}"
    at = at.astimezone(calendar.zone) if calendar else at
    upcoming = calendar.next_window(at) if calendar else None
    hint = f"; next window {upcoming.start:%Y-%m-%d %H:%M}-{upcoming.end:%H:%M}" if upcoming else \
        "; the environment has no maintenance calendar (kt2_maintenance)"
    return False, (f"{step.id} disrupts production {environment.get('id')} and {at:%Y-%m-%d %H:%M %Z} is outside "
                   f"every maintenance window{hint}. Wait for it, or give an emergency reason "
                   "(-e kt2_emergency_reason=..., recorded in the audit trail)")


def _decided(state: DomainState, decision: str, value: str, roles: tuple[str, ...] = ()) -> tuple[bool, str]:
    record = state.decision(decision)
    if record is None:
        return False, f"no decision recorded for {decision} (kt2 runbook approve)"
    who = f"{record['value']} by {record['by']} ({record['role']}) at {record['at'][:16]}"
    if record["value"] != value:
        return False, f"{who}: {record.get('reason', '')}"
    if roles and record["role"] not in roles:
        return False, f"{who}, but {decision} must be decided by {' or '.join(roles)}"
    return True, who


def o_checklist(catalogue: Catalogue, state: DomainState, domain: dict[str, Any],
                production: MaintenanceCalendar | None, announce_days: int = ANNOUNCE_DAYS) -> list[Check]:
    """The pre-migration gate O, checks 1-10 of the runbook, judged from what is recorded and configured."""
    checks = []

    def add(number: str, text: str, met: bool, reason: str) -> None:
        checks.append(Check(number, text, met, reason))

    regular = [s for s in ("L.1", "L.2") if not state.done(s)]
    add("1", "regular runbook steps done", not regular,
        "L.1 and L.2 done" if not regular else f"not done: {', '.join(regular)}")
    for number in ("2", "3", "4"):
        spec = catalogue.decisions[f"O.{number}"]
        add(number, spec.en.lower(), *_decided(state, spec.id, "confirmed"))
    backup = state.last_run("L.2")
    restored = backup is not None and backup.result == "ok" and backup.artefacts.get("restore_test") == "identical"
    add("5", "a backup of the domain is available",
        restored, f"backup {backup.artefacts.get('backup')} restore-tested: identical" if restored
        else "no L.2 backup with a passed restore test")
    undoable = [s.id for s in catalogue.steps.values() if s.disruptive]
    missing = [s for s in undoable if not catalogue.steps[s].undo]
    add("6", "rollback steps known", not missing,
        f"every disruptive step can be undone: {', '.join(undoable)} (kt2 run STEP --undo)" if not missing
        else f"no undo for {', '.join(missing)}")
    announced = _announced(domain, production, announce_days)
    add("7", "care provider informed of the impact", *announced)
    support = [c for c in domain.get("contacts", []) if c.get("party") == "kt2_support"]
    add("8", "KT2-Support informed (heightened monitoring)", bool(support) and announced[0],
        f"contact {support[0]['name']} <{support[0].get('email', '')}>" if support
        else "the domain file names no kt2_support contact")
    add("9", catalogue.decisions["O.9"].en, *_decided(state, "O.9", "GO"))
    add("10", catalogue.decisions["O.10"].en, *_decided(state, "O.10", "GO", catalogue.decisions["O.10"].roles))
    return checks


def _announced(domain: dict[str, Any], production: MaintenanceCalendar | None, days: int) -> tuple[bool, str]:
    planned = domain.get("migration", {}).get("planned")
    if not planned:
        return False, "the domain file has no migration.planned (start, announced)"
    start = datetime.fromisoformat(planned["start"])
    announced = date.fromisoformat(planned["announced"])
    lead = (start.date() - announced).days
    if lead < days:
        return False, f"announced {announced}, {lead} day(s) before the start {start:%Y-%m-%d}; at least {days} needed"
    if production is not None and production.window_at(start) is None:
        return False, f"the planned start {start:%Y-%m-%d %H:%M} is outside every maintenance window of " \
                      f"{production.environment}"
    return True, f"announced {announced}, {lead} days before the start {start:%Y-%m-%d %H:%M}"


@dataclass
class Verdict:
    step: str
    undo: bool
    target: str
    refusals: list[str]
    notes: list[str]
    checklist: list[Check]

    @property
    def ok(self) -> bool:
        return not self.refusals


def evaluate(ctx: RunbookContext, state: DomainState, step_id: str, undo: bool, at: datetime,
             emergency_reason: str = "") -> Verdict:
    """Everything that decides whether `step_id` may run for the context's domain now."""
    book = catalogue()
    step = book.step(step_id)
    refusals = preconditions(book, state, step, undo)
    checklist: list[Check] = []
    if step.id == "O" and not undo:
        checklist = o_checklist(book, state, ctx.domain, ctx.calendar(ctx.target), ctx.announce_days)
        refusals += [f"O.{c.id} {c.text}: {c.reason}" for c in checklist if not c.met]
    if step.trial and ctx.trial is None:  # its plays would run on no host and the step be recorded as done
        refusals.append(f"{step.id} runs on the domain's trial environment, and none of its environments "
                        f"({', '.join(ctx.domain['domain']['environments'])}) holds a copy of production "
                        "(data_class production_copy)")
    in_window, why = window_check(step, ctx.environments[ctx.target], ctx.calendar(ctx.target), at, emergency_reason)
    if not in_window:
        refusals.append(why)
    return Verdict(step.id, undo, ctx.target, refusals, [why], checklist)
