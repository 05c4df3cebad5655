"""The programme's plan: each domain's migration in a maintenance window of its target, and what is wrong with
the dates already set.

A window holds migrations one after another, each taking what `estimate.window_need` says (P.8 at the rate
that applies, the window's other steps, rollback R). Two migrations may share time on an environment only
while their rates together stay within its measured capacity (P.8 with the exemption takes all of it). A
domain without a date is proposed a place: not before the announcement lead time from now, its cluster kept
in one window where one has room for all of it, else each domain in the first window with room."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kt2ops.programme.estimate import window_need
from kt2ops.programme.position import Position
from kt2ops.windows import MaintenanceCalendar, Window

HORIZON_YEARS = 2
PRE_MIGRATION_DECISIONS = ("O.2", "O.3", "O.4")


@dataclass(frozen=True)
class Slot:
    domain: str
    target: str
    window: Window
    start: datetime
    end: datetime
    proposed: bool
    why: str


@dataclass(frozen=True)
class Finding:
    domain: str
    kind: str
    reason: str

    def __str__(self) -> str:
        return f"{self.domain}: {self.reason}"


@dataclass
class Plan:
    slots: list[Slot] = field(default_factory=list)
    unplaced: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def slot(self, domain: str) -> Slot | None:
        return next((s for s in self.slots if s.domain == domain), None)


def hours(seconds: float) -> str:
    """A duration as people read it in a plan: 45 s, 12 min, 3h05."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}"


@dataclass
class _Board:
    """The windows of one target and the time booked in each."""
    calendar: MaintenanceCalendar
    capacity: float | None
    booked: list[tuple[datetime, datetime, str, float | None]] = field(default_factory=list)

    def windows(self, start: datetime) -> Iterator[Window]:
        local = start.astimezone(self.calendar.zone)
        for year in range(local.year, local.year + HORIZON_YEARS + 1):
            yield from (w for w in self.calendar.windows(year) if w.start >= local)

    def longest(self, start: datetime) -> float:
        return max(((w.end - w.start).total_seconds() for w in self.windows(start)), default=0.0)

    def gap(self, window: Window, need: float) -> datetime | None:
        """The earliest start in `window` with `need` seconds free of every booking."""
        at = window.start
        for begin, end, _, _ in sorted(b for b in self.booked if b[1] > window.start and b[0] < window.end):
            if (begin - at).total_seconds() >= need:
                return at
            at = max(at, end)
        return at if (window.end - at).total_seconds() >= need else None


def make_plan(positions: list[Position], calendars: dict[str, MaintenanceCalendar | None],
              capacities: dict[str, float | None], settings: dict[str, Any], now: datetime,
              announce_days: int) -> Plan:
    plan = Plan()
    boards: dict[str, _Board] = {}
    for env, calendar in calendars.items():
        if calendar is not None:
            boards[env] = _Board(calendar, capacities.get(env))
    waiting = [p for p in positions if not p.migrated]
    for pos in (p for p in waiting if p.planned):
        _check_planned(plan, boards.get(pos.target), pos, settings, now, announce_days)
    _check_overlaps(plan, boards)
    earliest = now + timedelta(days=announce_days)
    clusters: dict[str, list[Position]] = {}
    for pos in (p for p in waiting if not p.planned):
        clusters.setdefault(pos.cluster, []).append(pos)
    for cluster in sorted(clusters):
        members = sorted(clusters[cluster], key=lambda p: (-(window_need(p.estimate, settings) or 0), p.id))
        _propose(plan, boards, cluster, members, settings, earliest)
    plan.slots.sort(key=lambda s: (s.start, s.domain))
    return plan


def _check_planned(plan: Plan, board: _Board | None, pos: Position, settings: dict[str, Any], now: datetime,
                   announce_days: int) -> None:
    assert pos.planned is not None

    def add(kind: str, reason: str) -> None:
        plan.findings.append(Finding(pos.id, kind, reason))

    when = f"{pos.planned:%Y-%m-%d %H:%M}"
    if pos.trial is None:
        add("before-trial", f"planned for {when} before its trial migration (M.2 not done): the window's fit "
                            f"rests on {pos.estimate.basis}")
    close = pos.planned - now <= timedelta(days=announce_days)
    missing = [d for d in PRE_MIGRATION_DECISIONS if pos.decided.get(d) != "confirmed"]
    if close and missing:
        add("decisions", f"planned for {when}, within the announcement lead time of {announce_days} days, "
                         f"without its decisions: {', '.join(missing)} not recorded (kt2 runbook approve)")
    if pos.announced is None and close:
        add("announcement", f"planned for {when} and not announced ({announce_days} days ahead are needed)")
    elif pos.announced is not None and (pos.planned.date() - pos.announced).days < announce_days:
        add("announcement", f"announced {pos.announced}, {(pos.planned.date() - pos.announced).days} days before "
                            f"{when}; the lead time is {announce_days} days")
    if board is None:
        add("outside-window", f"{pos.target} has no maintenance calendar (kt2_maintenance) to plan {when} in")
        return
    window = board.calendar.window_at(pos.planned)
    if window is None:
        upcoming = board.calendar.next_window(pos.planned)
        add("outside-window", f"planned for {when}, outside every maintenance window of {pos.target}"
                              + (f"; the next is {upcoming.start:%Y-%m-%d %H:%M}-{upcoming.end:%H:%M}" if upcoming
                                 else ""))
        return
    need = window_need(pos.estimate, settings)
    if need is None:
        add("unknown-duration", f"planned for {when}, but its duration is unknown: {pos.estimate.basis}")
        need = 0.0
    end = pos.planned + timedelta(seconds=need)
    if end > window.end:
        add("outside-window", f"planned for {when}, needs {hours(need)} (P.8 {hours(pos.estimate.seconds or 0)}, "
                              f"the window's other steps and rollback R) and would end {end:%H:%M}, after the "
                              f"window's end {window.end:%H:%M}")
    board.booked.append((pos.planned, end, pos.id, pos.estimate.rate))
    plan.slots.append(Slot(pos.id, pos.target, window, pos.planned, end, False, f"the date set in {pos.file}"))


def _check_overlaps(plan: Plan, boards: dict[str, _Board]) -> None:
    """One finding per migration that shares time with others beyond its environment's capacity."""
    for env, board in boards.items():
        capacity = f"{env}'s measured capacity is {board.capacity:.0f}" if board.capacity else \
            f"{env} has no measured capacity (kt2_migration_capacity)"
        for start, end, domain, rate in board.booked:
            others = [b for b in board.booked if b[2] != domain and b[0] < end and start < b[1]]
            together = (rate or 0) + sum(b[3] or 0 for b in others)
            if not others or (board.capacity and rate and all(b[3] for b in others) and together <= board.capacity):
                continue
            begin, finish = max(start, min(b[0] for b in others)), min(end, max(b[1] for b in others))
            plan.findings.append(Finding(domain, "capacity", (
                f"overlaps {', '.join(sorted(b[2] for b in others))} on {env} ({begin:%Y-%m-%d %H:%M}-"
                f"{finish:%H:%M}): together {together:.0f} resources/s, {capacity}")))


def _propose(plan: Plan, boards: dict[str, _Board], cluster: str, members: list[Position],
             settings: dict[str, Any], earliest: datetime) -> None:
    needs = {p.id: window_need(p.estimate, settings) for p in members}
    for pos in [p for p in members if needs[p.id] is None]:
        plan.unplaced[pos.id] = f"its duration is unknown: {pos.estimate.basis}"
    fits: list[Position] = []
    for pos in (p for p in members if needs[p.id] is not None):
        board = boards.get(pos.target)
        if board is None:
            plan.unplaced[pos.id] = f"{pos.target} has no maintenance calendar (kt2_maintenance)"
        elif (need := needs[pos.id] or 0.0) > (longest := board.longest(earliest)):
            hint = ""
            if not pos.estimate.exempt and board.capacity and pos.estimate.resources:
                hint = (f"; with P.8L's exemption P.8 would take {hours(pos.estimate.resources / board.capacity)} "
                        f"at {board.capacity:.0f} resources/s")
            plan.unplaced[pos.id] = (f"needs {hours(need)} (P.8 {hours(pos.estimate.seconds or 0)} from "
                                     f"{pos.estimate.basis}; the window's other steps {settings['steps_minutes']} min; "
                                     f"rollback R {settings['rollback_minutes']} min), the longest window of "
                                     f"{pos.target} is {hours(longest)}{hint}")
        else:
            fits.append(pos)
    lead = f"the announcement lead time ends {earliest:%Y-%m-%d}"
    by_target: dict[str, list[Position]] = {}
    for pos in fits:
        by_target.setdefault(pos.target, []).append(pos)
    for target, group in by_target.items():
        board = boards[target]
        total = sum(needs[p.id] or 0.0 for p in group)
        together = next(((w, at) for w in board.windows(earliest) if (at := board.gap(w, total)) is not None), None)
        if together is not None:
            window, at = together
            why = (f"first window after {lead} with room for all of {cluster} on {target} ({len(group)} "
                   f"domain{'s' if len(group) > 1 else ''}, {hours(total)})")
            for pos in group:
                at = _book(plan, board, pos, window, at, needs[pos.id] or 0.0, why)
            continue
        for pos in group:
            need = needs[pos.id] or 0.0
            found = next(((w, at) for w in board.windows(earliest) if (at := board.gap(w, need)) is not None), None)
            if found is None:
                plan.unplaced[pos.id] = f"no window of {target} within {HORIZON_YEARS} years has {hours(need)} free"
                continue
            _book(plan, board, pos, found[0], found[1], need,
                  f"{cluster} together needs {hours(total)}, more than any window of {target} has free; this domain "
                  f"in the first window after {lead} with {hours(need)} free")


def _book(plan: Plan, board: _Board, pos: Position, window: Window, at: datetime, need: float, why: str) -> datetime:
    end = at + timedelta(seconds=need)
    board.booked.append((at, end, pos.id, pos.estimate.rate))
    plan.slots.append(Slot(pos.id, pos.target, window, at, end, True, why))
    return end
