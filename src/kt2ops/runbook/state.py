"""A domain's runbook state, replayed from the audit trail: the trail is the only record, so the state
shown can never disagree with what was logged."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kt2ops.runbook.audit import AuditLog

AUDIT_FILE = "audit.jsonl"


def runbook_dir(inventory: Path) -> Path:
    """Where an inventory's runbook records, backups and backup keys live (on the control machine)."""
    base = inventory if inventory.is_dir() else inventory.parent
    return base.resolve() / ".runbook"


def audit_log(inventory: Path) -> AuditLog:
    return AuditLog(runbook_dir(inventory) / AUDIT_FILE)


@dataclass
class StepRun:
    run: str
    step: str
    undo: bool
    domain: str
    environment: str | None
    operator: str
    started: str
    check_mode: bool
    inputs: dict[str, Any] = field(default_factory=dict)
    ended: str | None = None
    result: str = "interrupted"  # until an end record says otherwise
    reason: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    artefacts: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.step}{' (undo)' if self.undo else ''}"


@dataclass
class DomainState:
    domain: str
    runs: list[StepRun] = field(default_factory=list)
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def last_run(self, step: str) -> StepRun | None:
        """The latest run of a step (or its undo) that was not a dry run."""
        return next((r for r in reversed(self.runs) if r.step == step and not r.check_mode), None)

    def status(self, step: str) -> str:
        """done, undone, failed, refused, interrupted or not run."""
        last = self.last_run(step)
        if last is None:
            return "not run"
        if last.result == "ok":
            return "undone" if last.undo else "done"
        return last.result

    def done(self, step: str) -> bool:
        return self.status(step) == "done"

    def exempt_from_limit(self) -> bool:
        """Whether the runbook holds the ingress limit's exemption of the migration open: P.8L done, and not
        ended since by its undo, by Q.10 (production open) or by R (rolled back)."""
        opened = self.last_run("P.8L")
        if opened is None or opened.result != "ok" or opened.undo:
            return False
        later = self.runs[self.runs.index(opened) + 1:]
        return not any(r.step in ("Q.10", "R") and r.result == "ok" and not r.undo and not r.check_mode
                       for r in later)

    def decision(self, decision_id: str) -> dict[str, Any] | None:
        return self.decisions.get(decision_id)


def domain_state(log: AuditLog, domain: str) -> DomainState:
    return domain_states(log, domain).get(domain, DomainState(domain))


def domain_states(log: AuditLog, only: str | None = None) -> dict[str, DomainState]:
    """Every domain's state (or `only` that one's), replayed in one pass over the trail."""
    states: dict[str, DomainState] = {}
    open_runs: dict[str, StepRun] = {}
    for record in log.records():
        domain = record.get("domain")
        if not domain or (only is not None and domain != only):
            continue
        state = states.setdefault(domain, DomainState(domain))
        kind = record.get("type")
        if kind == "step.start":
            run = StepRun(record["run"], record["step"], record.get("undo", False), domain,
                          record.get("environment"), record.get("operator", "?"), record["at"],
                          record.get("check_mode", False), record.get("inputs", {}))
            state.runs.append(run)
            open_runs[run.run] = run
        elif kind == "step.end" and record.get("run") in open_runs:
            run = open_runs.pop(record["run"])
            run.ended, run.result = record["at"], record["result"]
            run.reason, run.counts = record.get("reason", ""), record.get("counts", {})
            run.artefacts, run.environment = record.get("artefacts", {}), record.get("environment", run.environment)
        elif kind == "decision":
            state.decisions[record["decision"]] = record
    return states
