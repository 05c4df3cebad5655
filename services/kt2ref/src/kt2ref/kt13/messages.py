"""KT 1.3 message bundles: events, processing statuses, and what the server reads from a bundle."""

from typing import Any

from kt2ref.common import BadRequest

EVENT_SYSTEM = "http://koppeltaal.nl/fhir/message-event"
EVENTS = frozenset({
    "CreateOrUpdatePatient", "CreateOrUpdatePractitioner", "CreateOrUpdateRelatedPerson",
    "CreateOrUpdateActivityDefinition", "CreateOrUpdateCarePlan", "UpdateCarePlanActivityStatus",
    "CreateOrUpdateCarePlanActivityResult", "CreateOrUpdateUserMessage", "CreateOrUpdateCareTeam",
})
STATUSES = ("New", "Claimed", "Success", "Failed", "MaximumRetriesExceeded", "ReplacedByNewVersion", "Archived")
MAX_RETRIES = 5


def header_of(bundle: Any) -> dict[str, Any]:
    """The MessageHeader of a message bundle, checked; errors name the element."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle" or bundle.get("type") != "message":
        raise BadRequest("Bundle: a KT 1.3 message is a Bundle of type 'message'")
    entries = bundle.get("entry") or []
    header = entries[0].get("resource", {}) if entries else {}
    if header.get("resourceType") != "MessageHeader":
        raise BadRequest("Bundle.entry[0]: the first entry must be the MessageHeader")
    event = header.get("event", {}).get("code")
    if event not in EVENTS:
        raise BadRequest(f"MessageHeader.event.code: unknown event {event!r} (known: {', '.join(sorted(EVENTS))})")
    if not header.get("id"):
        raise BadRequest("MessageHeader.id is required")
    return header


def focus_of(header: dict[str, Any]) -> str | None:
    data = header.get("data") or []
    return data[0].get("reference") if data else None


def patient_of(header: dict[str, Any]) -> str | None:
    return (header.get("patient") or {}).get("reference")
