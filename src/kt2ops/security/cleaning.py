"""Cleaning a KT 1.3 export before it leaves production (appendix B.3): declared rules drop messages
outside the migration's scope (events, test records, too old) and fields that must not travel, and a
report says per rule what was removed, by message id only (never the content).

Rules file (YAML, validated by schemas/cleaning.schema.json):

    rules:
      - {id: test-clients, description: ..., drop_messages: {patient_matches: "^Patient/test-"}}
      - {id: user-messages, drop_messages: {events: [CreateOrUpdateUserMessage]}}
      - {id: history, drop_messages: {received_before: "2024-01-01"}}
      - {id: no-telecom, drop_fields: {resource_type: Patient, fields: [telecom, photo]}}
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from kt2ops.errors import Kt2OpsError
from kt2ops.paths import SCHEMAS

SAMPLE = 5


class CleaningError(Kt2OpsError, ValueError):
    """The rules or the export are invalid; the message names the file, line or field."""


@dataclass
class RuleReport:
    id: str
    description: str
    messages_removed: int = 0
    fields_removed: int = 0
    sample: list[str] = field(default_factory=list)

    def removed(self, message_id: str, messages: int = 0, fields: int = 0) -> None:
        self.messages_removed += messages
        self.fields_removed += fields
        if len(self.sample) < SAMPLE:
            self.sample.append(message_id)


def load_rules(path: Path) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CleaningError(f"{path}: cannot read the rules: {exc}") from exc
    schema = json.loads((SCHEMAS / "cleaning.schema.json").read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        where = ".".join(str(p) for p in errors[0].absolute_path) or "(top)"
        raise CleaningError(f"{path}: {where}: {errors[0].message}")
    ids = [r["id"] for r in data["rules"]]
    if len(ids) != len(set(ids)):
        raise CleaningError(f"{path}: rules: ids must be unique")
    for number, rule in enumerate(data["rules"]):
        pattern = rule.get("drop_messages", {}).get("patient_matches")
        try:
            re.compile(pattern or "")
        except re.error as exc:
            raise CleaningError(f"{path}: rules.{number}.drop_messages.patient_matches: {exc}") from exc
    return data["rules"]


def _dropped_by(rule: dict[str, Any], message: dict[str, Any]) -> bool:
    spec = rule.get("drop_messages")
    if not spec:
        return False
    header = message["bundle"]["entry"][0]["resource"]
    patient = (header.get("patient") or {}).get("reference", "")
    return bool((spec.get("events") and message["event"] in spec["events"])
                or (spec.get("patient_matches") and re.search(spec["patient_matches"], patient))
                or (spec.get("received_before") and message["received"][:10] < spec["received_before"]))


def _strip(rule: dict[str, Any], message: dict[str, Any]) -> int:
    spec = rule.get("drop_fields")
    if not spec:
        return 0
    removed = 0
    for entry in message["bundle"].get("entry", []):
        resource = entry.get("resource", {})
        if resource.get("resourceType") == spec["resource_type"]:
            for name in spec["fields"]:
                removed += resource.pop(name, None) is not None
    return removed


def clean(lines: Iterable[str], rules: list[dict[str, Any]], source: str = "export") -> tuple[
        Iterator[str], list[RuleReport]]:
    """Stream the cleaned export (JSON lines) and fill the per-rule report as it goes."""
    reports = [RuleReport(r["id"], r.get("description", "")) for r in rules]

    def cleaned() -> Iterator[str]:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                message = json.loads(line)
                message_id = message["id"]
                message["bundle"]["entry"][0]["resource"]
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise CleaningError(f"{source}:{number}: not a KT 1.3 export message ({exc})") from exc
            dropped = next((i for i, rule in enumerate(rules) if _dropped_by(rule, message)), None)
            if dropped is not None:
                reports[dropped].removed(message_id, messages=1)
                continue
            for rule, report in zip(rules, reports, strict=True):
                if stripped := _strip(rule, message):
                    report.removed(message_id, fields=stripped)
            yield json.dumps(message, separators=(",", ":"), ensure_ascii=False) + "\n"

    return cleaned(), reports
