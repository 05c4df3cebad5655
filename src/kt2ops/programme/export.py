"""The plan as a calendar (.ics) and as AWX schedules of the runbook's migration workflow."""

from __future__ import annotations

from typing import Any

from icalendar import Calendar, Event

from kt2ops.programme.planner import Plan, Slot

MIGRATION_WORKFLOW = "kt2ops migration"  # awx/workflows.yml


def plan_ics(plan: Plan, names: dict[str, str]) -> bytes:
    """One event per migration (stable UIDs: importing a new plan moves the events, not duplicates them)."""
    cal = Calendar()
    cal.add("prodid", "-//kt2ops//migration programme//EN")
    cal.add("version", "2.0")
    for slot in plan.slots:
        event = Event()
        event.add("uid", f"{slot.domain}-migration@kt2ops")
        event.add("summary", f"Migratie {names.get(slot.domain, slot.domain)} naar {slot.target} (KT 1.3 -> KT 2.0)")
        event.add("dtstart", slot.start)
        event.add("dtend", slot.end)
        event.add("dtstamp", slot.start)
        event.add("description", f"{'proposed' if slot.proposed else 'planned'}: {slot.why}; maintenance window "
                                 f"{slot.window.start:%Y-%m-%d %H:%M}-{slot.window.end:%H:%M} ({slot.window.rule})")
        cal.add_component(event)
    return cal.to_ical()


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
