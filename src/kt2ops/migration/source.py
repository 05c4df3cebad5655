"""The KT 1.3 side: a domain's export (the KT 1.3 server's contract `export`, JSON lines in received
order) read as messages, and what each event carries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from kt2ops.errors import Kt2OpsError

# The resource a message of each event carries; None: the event's content is not migrated (reported).
EVENT_RESOURCE: dict[str, str | None] = {
    "CreateOrUpdatePractitioner": "Practitioner",
    "CreateOrUpdatePatient": "Patient",
    "CreateOrUpdateRelatedPerson": "RelatedPerson",
    "CreateOrUpdateCareTeam": "CareTeam",
    "CreateOrUpdateActivityDefinition": "ActivityDefinition",
    "CreateOrUpdateCarePlan": "CarePlan",
    "UpdateCarePlanActivityStatus": "CarePlanActivityStatus",
    "CreateOrUpdateCarePlanActivityResult": None,
    "CreateOrUpdateUserMessage": None,
}


@dataclass(frozen=True)
class Message:
    line: int
    seq: int
    id: str
    event: str
    sender: str
    status: str
    timestamp: str
    resource: dict[str, Any]


class ExportLineError(Kt2OpsError, ValueError):
    """A line of the export that is not a KT 1.3 message at all; names the line."""

    def __init__(self, line: int, reason: str, message_id: str | None = None) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason
        self.message_id = message_id


def parse_line(number: int, text: str) -> Message:
    """One export line as a Message; ExportLineError when its structure is not a KT 1.3 message."""
    try:
        row = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise ExportLineError(number, f"not JSON ({error.msg})") from None
    if not isinstance(row, dict):
        raise ExportLineError(number, "not a JSON object")
    bundle = row.get("bundle")
    message_id = row.get("id") if isinstance(row.get("id"), str) else None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle" or bundle.get("type") != "message":
        raise ExportLineError(number, "bundle: not a Bundle of type 'message'", message_id)
    entries = bundle.get("entry")
    if not isinstance(entries, list) or len(entries) < 2 or not all(isinstance(e, dict) for e in entries):
        raise ExportLineError(number, "Bundle.entry: needs the MessageHeader and the resource", message_id)
    header, resource = entries[0].get("resource"), entries[1].get("resource")
    if not isinstance(header, dict) or header.get("resourceType") != "MessageHeader":
        raise ExportLineError(number, "Bundle.entry[0]: not a MessageHeader", message_id)
    if not isinstance(resource, dict):
        raise ExportLineError(number, "Bundle.entry[1].resource: missing", message_id)
    event = (header.get("event") or {}).get("code")
    if event not in EVENT_RESOURCE:
        raise ExportLineError(number, f"MessageHeader.event.code: unknown event {event!r}", message_id)
    for name, kind in (("seq", int), ("id", str), ("sender", str), ("status", str)):
        if not isinstance(row.get(name), kind):
            raise ExportLineError(number, f"{name}: missing or not a {kind.__name__}", message_id)
    timestamp = header.get("timestamp") or row.get("received")
    if not isinstance(timestamp, str):
        raise ExportLineError(number, "MessageHeader.timestamp: missing", message_id)
    return Message(number, row["seq"], row["id"], event, row["sender"], row["status"], timestamp, resource)


def read_export(path: Path) -> Iterator[Message | ExportLineError]:
    """Every line of an export: a Message, or the error that says why the line is not one."""
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                try:
                    yield parse_line(number, text)
                except ExportLineError as error:
                    yield error
