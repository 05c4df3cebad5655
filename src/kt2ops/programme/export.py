"""The plan as a calendar (.ics) and as AWX schedules of the runbook's migration workflow."""

from __future__ import annotations

from typing import Any

from kt2ops.programme.planner import Plan, Slot
from kt2ops.windows import ics

MIGRATION_WORKFLOW = "kt2ops migration"  # awx/workflows.yml


def plan_ics(plan: Plan, names: dict[str, str]) -> bytes:
    """One event per migration (stable UIDs: importing a new plan moves the events, not duplicates them)."""
    return ics("-//kt2ops//migration programme//EN", (
        {"uid": f"{slot.domain}-migration@kt2ops",
         "summary": f"Migratie {names.get(slot.domain, slot.domain)} naar {slot.target} (KT 1.3 -> KT 2.0)",
         "dtstart": slot.start, "dtend": slot.end, "dtstamp": slot.start,
         "description": f"{'proposed' if slot.proposed else 'planned'}: {slot.why}; maintenance window "
                        f"{slot.window.start:%Y-%m-%d %H:%M}-{slot.window.end:%H:%M} ({slot.window.rule})"}
        for slot in plan.slots))


def rrule_once(slot: Slot) -> str:
    """AWX's rrule for one run at the slot's start, in the window's zone (as awx.awx.schedule_rrule 'none')."""
    zone = slot.window.start.tzinfo
    local = slot.start.astimezone(zone)
    return f"DTSTART;TZID={zone}:{local:%Y%m%dT%H%M%S} RRULE:FREQ=DAILY;COUNT=1;INTERVAL=1"


def awx_schedules(plan: Plan) -> dict[str, Any]:
    """`kt2_awx_schedules` for awx/configure.yml: the migration workflow once per domain, at its slot."""
    return {"kt2_awx_schedules": [
        {"name": f"kt2ops migration {slot.domain}", "unified_job_template": MIGRATION_WORKFLOW,
         "description": f"{'Proposed' if slot.proposed else 'Planned'}: {slot.why}"[:512],
         "rrule": rrule_once(slot), "extra_data": {"kt2_domain": slot.domain, "kt2_target": slot.target},
         "enabled": not slot.proposed}
        for slot in plan.slots]}
