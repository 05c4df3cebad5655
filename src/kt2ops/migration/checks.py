"""Technical-specification checks of one KT 1.3 resource (structure, required elements, types), as a
batch delivery is checked before its content is: each problem is a path and a reason."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
GENDERS = {"male", "female", "other", "unknown"}
# KT 1.3 activity statuses and their KT 2.0 Task.status.
ACTIVITY_STATUS = {"Available": "ready", "Planned": "requested", "InProgress": "in-progress",
                   "OnHold": "on-hold", "Completed": "completed", "Cancelled": "cancelled", "Expired": "failed"}
CLOSED_STATUSES = {"Completed", "Cancelled", "Expired"}


def reference_id(value: Any, resource_type: str) -> str | None:
    """The id in {"reference": "<Type>/<id>"}, or None when it is not such a reference."""
    reference = value.get("reference") if isinstance(value, dict) else None
    if isinstance(reference, str) and reference.startswith(resource_type + "/"):
        found = reference[len(resource_type) + 1:]
        return found if ID.match(found) else None
    return None


def _names(resource: dict[str, Any]) -> list[str]:
    names = resource.get("name")
    if not isinstance(names, list) or not names or not all(isinstance(n, dict) for n in names):
        return ["name: required, a list of names"]
    return []


def _identifiers(resource: dict[str, Any], required: bool) -> list[str]:
    identifiers = resource.get("identifier")
    if identifiers is None and not required:
        return []
    if not isinstance(identifiers, list) or not identifiers:
        return ["identifier: required, a list of {system, value}"]
    return [f"identifier[{i}]: needs a system and a value" for i, ident in enumerate(identifiers)
            if not (isinstance(ident, dict) and isinstance(ident.get("system"), str)
                    and isinstance(ident.get("value"), str) and ident["value"])]


def _patient(resource: dict[str, Any], today: date) -> list[str]:
    problems = _identifiers(resource, True) + _names(resource)
    if "gender" in resource and resource["gender"] not in GENDERS:
        problems.append(f"gender: {resource['gender']!r} is not one of {', '.join(sorted(GENDERS))}")
    if "birthDate" in resource:
        problems += _birth_date(resource["birthDate"], today)
    return problems


def _birth_date(value: Any, today: date) -> list[str]:
    if not isinstance(value, str) or not DATE.match(value):
        return [f"birthDate: {value!r} is not a date (YYYY-MM-DD)"]
    try:
        born = date.fromisoformat(value)
    except ValueError:
        return [f"birthDate: {value!r} is not a calendar date"]
    if born > today or born.year < 1900:
        return [f"birthDate: {value} is not plausible (before 1900 or in the future)"]
    return []


def _care_plan(resource: dict[str, Any]) -> list[str]:
    problems = [] if reference_id(resource.get("patient"), "Patient") else ["patient: required, Patient/<id>"]
    for i, member in enumerate(resource.get("careTeam") or []):
        if not reference_id(member, "Practitioner"):
            problems.append(f"careTeam[{i}]: not a Practitioner/<id> reference")
    activities = resource.get("activity")
    if not isinstance(activities, list):
        return [*problems, "activity: required, a list"]
    for i, activity in enumerate(activities):
        if not isinstance(activity, dict) or not isinstance(activity.get("id"), str) or not ID.match(activity["id"]):
            problems.append(f"activity[{i}].id: required, a KT 1.3 id")
            continue
        if not reference_id(activity.get("definition"), "ActivityDefinition"):
            problems.append(f"activity[{i}].definition: required, ActivityDefinition/<id>")
        if activity.get("status") not in ACTIVITY_STATUS:
            problems.append(f"activity[{i}].status: {activity.get('status')!r} is not a KT 1.3 activity status")
        if "period" in activity and not _period(activity["period"]):
            problems.append(f"activity[{i}].period: needs a start date and, when given, an end date after it")
        # KT 1.3 (DSTU1) lets a patient, a practitioner or a related person perform an activity; KT2Task's owner
        # takes all three.
        if "performer" in activity and not any(reference_id(activity["performer"], kind)
                                               for kind in ("Patient", "Practitioner", "RelatedPerson")):
            problems.append(f"activity[{i}].performer: not a Patient, Practitioner or RelatedPerson reference")
    return problems


def _period(value: Any) -> bool:
    """{start, end?} as dates (YYYY-MM-DD), the end not before the start."""
    if not isinstance(value, dict) or not isinstance(value.get("start"), str) or not DATE.match(value["start"]):
        return False
    end = value.get("end")
    return end is None or (isinstance(end, str) and bool(DATE.match(end)) and end >= value["start"])


def _status_update(resource: dict[str, Any]) -> list[str]:
    problems = [] if isinstance(resource.get("activity"), str) else ["activity: required, the activity's id"]
    if resource.get("activityStatus") not in ACTIVITY_STATUS:
        problems.append(f"activityStatus: {resource.get('activityStatus')!r} is not a KT 1.3 activity status")
    return problems


def _activity_definition(resource: dict[str, Any]) -> list[str]:
    problems = [] if isinstance(resource.get("title"), str) and resource["title"] else ["title: required"]
    return problems + [f"{flag}: must be true or false" for flag in ("isActive", "isArchived")
                       if flag in resource and not isinstance(resource[flag], bool)]


def _care_team(resource: dict[str, Any]) -> list[str]:
    problems = [] if "subject" not in resource or reference_id(resource["subject"], "Patient") \
        else ["subject: not a Patient/<id> reference"]
    participants = resource.get("participant")
    if not isinstance(participants, list) or not participants:
        return [*problems, "participant: required, a list"]
    return problems + [f"participant[{i}].member: not a Practitioner, Patient or RelatedPerson reference"
                       for i, p in enumerate(participants)
                       if not any(reference_id((p or {}).get("member"), t)
                                  for t in ("Practitioner", "Patient", "RelatedPerson"))]


def check_resource(resource: dict[str, Any], expected_type: str, today: date) -> list[str]:
    """Problems of one resource against the KT 1.3 specification; empty when it conforms."""
    if resource.get("resourceType") != expected_type:
        return [f"resourceType: {resource.get('resourceType')!r}, but the event carries {expected_type}"]
    if not isinstance(resource.get("id"), str) or not ID.match(resource["id"]):
        return ["id: required, 1-64 of A-Z a-z 0-9 - ."]
    if expected_type == "Patient":
        return _patient(resource, today)
    if expected_type == "Practitioner":
        return _identifiers(resource, False) + _names(resource)
    if expected_type == "RelatedPerson":
        return ([] if reference_id(resource.get("patient"), "Patient") else ["patient: required, Patient/<id>"]) \
            + _identifiers(resource, False)
    if expected_type == "ActivityDefinition":
        return _activity_definition(resource)
    if expected_type == "CarePlan":
        return _care_plan(resource)
    if expected_type == "CarePlanActivityStatus":
        return _status_update(resource)
    if expected_type == "CareTeam":
        return _care_team(resource)
    return []
