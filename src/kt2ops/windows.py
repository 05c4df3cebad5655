"""Maintenance windows per environment, from rules in the inventory (`kt2_maintenance` in group_vars).

The rules are those of the maintenance schedule: weekly windows (test), monthly ones on the n-th
weekday (acceptance, production), production work only from 18:00. A window on a Dutch public holiday
(the `holidays` package) moves to the next working day; a window inside a closed period (e.g. a
school holiday week) moves a week later, to the same weekday. Windows falling on the same day and
time are one window.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import jsonschema
from icalendar import Calendar, Event

from kt2ops.errors import Kt2OpsError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PRODUCTION_EARLIEST = time(18, 0)


class CalendarError(Kt2OpsError, ValueError):
    """The calendar rules are invalid; the message names the field."""


@dataclass(frozen=True)
class Window:
    environment: str
    start: datetime
    end: datetime
    rule: str
    moved_from: date | None = None
    why_moved: str = ""

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def _schema() -> dict[str, Any]:
    return json.loads(resources.files("kt2ops").joinpath("schemas/maintenance.schema.json").read_text())


class MaintenanceCalendar:
    def __init__(self, environment: str, spec: dict[str, Any], production: bool, source: str = "") -> None:
        where = f"{source}: " if source else ""
        errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(spec), key=lambda e: e.path)
        if errors:
            error = errors[0]
            field = ".".join(str(p) for p in ("kt2_maintenance", *error.absolute_path))
            raise CalendarError(f"{where}{field}: {error.message}")
        self.environment = environment
        self.zone = ZoneInfo(spec.get("timezone", "Europe/Amsterdam"))
        self.rules = spec["windows"]
        self.closed = [(date.fromisoformat(c["from"]), date.fromisoformat(c["to"]), c.get("reason", "closed"))
                       for c in spec.get("closed", [])]
        self.country = spec.get("country", "NL")
        self._years: dict[int, list[Window]] = {}
        for number, rule in enumerate(self.rules):
            start, end = time.fromisoformat(rule["from"]), time.fromisoformat(rule["to"])
            if end <= start:
                raise CalendarError(f"{where}kt2_maintenance.windows.{number}: 'to' must be after 'from'")
            if production and start < PRODUCTION_EARLIEST:
                raise CalendarError(f"{where}kt2_maintenance.windows.{number}.from: {rule['from']} - production "
                                    f"work starts at {PRODUCTION_EARLIEST:%H:%M} at the earliest")

    def windows(self, year: int) -> list[Window]:
        """The year's windows, computed once per year (window_at and next_window ask for them often)."""
        if year not in self._years:
            self._years[year] = self._compute(year)
        return self._years[year]

    def _compute(self, year: int) -> list[Window]:
        off = holidays.country_holidays(self.country, years=[year - 1, year, year + 1])
        candidates = []
        for rule in self.rules:
            for day in self._days(rule, year):
                moved, why = self._move(day, off)
                start = datetime.combine(moved, time.fromisoformat(rule["from"]), self.zone)
                end = datetime.combine(moved, time.fromisoformat(rule["to"]), self.zone)
                if start.year == year:
                    candidates.append(Window(self.environment, start, end, _describe(rule),
                                             day if moved != day else None, why))
        found: dict[tuple[datetime, datetime], Window] = {}
        for window in sorted(candidates, key=lambda w: w.moved_from is not None):  # a window in place wins
            found.setdefault((window.start, window.end), window)
        return sorted(found.values(), key=lambda w: w.start)

    def _days(self, rule: dict[str, Any], year: int) -> list[date]:
        weekday = WEEKDAYS.index(rule["weekday"])
        if rule["every"] == "week":
            first = date(year, 1, 1) + timedelta(days=(weekday - date(year, 1, 1).weekday()) % 7)
            return [first + timedelta(weeks=n) for n in range(53) if (first + timedelta(weeks=n)).year == year]
        days = []
        for month in range(1, 13):
            first = date(year, month, 1) + timedelta(days=(weekday - date(year, month, 1).weekday()) % 7)
            days.append(first + timedelta(weeks=rule["nth"] - 1))
        return days

    def _move(self, day: date, off: holidays.HolidayBase) -> tuple[date, str]:
        why = []
        while period := next((c for c in self.closed if c[0] <= day <= c[1]), None):
            day += timedelta(weeks=1)
            why.append(f"closed period {period[2]}")
        while day in off or day.weekday() >= 5:
            if day in off:
                why.append(f"public holiday {off.get(day)}")
            day += timedelta(days=1)
        return day, "; ".join(why)

    def window_at(self, moment: datetime) -> Window | None:
        local = moment.astimezone(self.zone)
        return next((w for w in self.windows(local.year) if w.contains(local)), None)

    def next_window(self, after: datetime) -> Window | None:
        local = after.astimezone(self.zone)
        upcoming = [w for y in (local.year, local.year + 1) for w in self.windows(y) if w.end > local]
        return upcoming[0] if upcoming else None


def _describe(rule: dict[str, Any]) -> str:
    when = f"every {rule['weekday']}" if rule["every"] == "week" else f"{_ordinal(rule['nth'])} {rule['weekday']}"
    return f"{when} of the {'month' if rule['every'] == 'month' else 'week'}, {rule['from']}-{rule['to']}"


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def to_ics(windows: list[Window]) -> bytes:
    """An iCalendar file with one event per window (stable UIDs: importing again updates, not duplicates)."""
    return ics("-//kt2ops//maintenance windows//EN", (
        {"uid": f"{window.environment}-{window.start:%Y%m%dT%H%M}@kt2ops",
         "summary": f"Onderhoud {window.environment} (maintenance window)",
         "dtstart": window.start, "dtend": window.end, "dtstamp": window.start,
         "description": window.rule + (f"; moved from {window.moved_from} ({window.why_moved})"
                                       if window.moved_from else "")}
        for window in windows))


def ics(prodid: str, events: Iterable[dict[str, Any]]) -> bytes:
    """An iCalendar file of `events`, each its properties (uid, summary, dtstart, ...) in order."""
    cal = Calendar()
    cal.add("prodid", prodid)
    cal.add("version", "2.0")
    for properties in events:
        event = Event()
        for name, value in properties.items():
            event.add(name, value)
        cal.add_component(event)
    return cal.to_ical()
