"""A runbook decision (GO/NO-GO, confirmation) recorded in the audit trail, checked against the catalogue:
by `kt2 runbook approve` on the command line and, in AWX, by the decision job template behind a workflow
approval (playbooks/runbook/decide.yml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kt2ops.runbook.audit import operator
from kt2ops.runbook.catalogue import catalogue
from kt2ops.runbook.model import RunbookError
from kt2ops.runbook.state import audit_log


class DecisionError(RunbookError):
    """The decision cannot be recorded as given; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


def record_decision(inventory: Path, domain_id: str, decision_id: str, value: str, by: str, role: str,
                    reason: str, awx_user: str | None = None) -> dict[str, Any]:
    """Append the decision to the inventory's audit trail and return the record; nothing is written when an
    input is wrong."""
    spec = catalogue().decisions.get(decision_id)
    if spec is None:
        raise DecisionError("decision", f"unknown decision {decision_id!r}; known: {', '.join(catalogue().decisions)}")
    if value not in spec.values:
        raise DecisionError("value", f"{decision_id} takes {' or '.join(spec.values)}")
    if spec.roles and role not in spec.roles:
        raise DecisionError("role", f"{decision_id} is decided by {' or '.join(spec.roles)}")
    for field, text in (("by", by), ("reason", reason)):
        if not text.strip():
            raise DecisionError(field, "must not be empty")
    return audit_log(inventory).append({"type": "decision", "domain": domain_id, "decision": decision_id,
                                        "value": value, "by": by, "role": role, "reason": reason,
                                        "operator": operator(awx_user)})
