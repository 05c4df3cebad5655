"""The runbook's AWX workflows (awx/workflows.yml) as the `workflow_nodes` of awx.awx.workflow_job_template:
a `path` of runbook steps and approval nodes run in order, and a `rollback` path that failures and denied
approvals marked `on_failure: rollback` lead to."""

from __future__ import annotations

from typing import Any

from kt2ops.errors import Kt2OpsError

STEP_TEMPLATE = "kt2ops runbook {}"
APPROVAL_TEMPLATE = "kt2ops approve {}"
ENTRY_KEYS = {"step", "approval", "description", "on_failure"}


class WorkflowError(Kt2OpsError, ValueError):
    """The workflow definition is wrong; the message names the workflow and the entry."""


def _identifier(entry: dict[str, Any], path: str) -> str:
    kind = "step" if "step" in entry else "approval"
    return f"{path} {kind} {entry[kind]}" if path == "rollback" else f"{kind} {entry[kind]}"


def _template(entry: dict[str, Any], organization: str) -> dict[str, Any]:
    if "step" in entry:
        return {"name": STEP_TEMPLATE.format(entry["step"]), "type": "job_template",
                "organization": {"name": organization}}
    return {"name": APPROVAL_TEMPLATE.format(entry["approval"]), "type": "workflow_approval",
            "description": entry.get("description", ""), "timeout": 0}


def _check(workflow: dict[str, Any], where: str, entry: Any) -> None:
    if not isinstance(entry, dict) or len({"step", "approval"} & entry.keys()) != 1:
        raise WorkflowError(f"{where}: give exactly one of step or approval, got {entry!r}")
    if unknown := entry.keys() - ENTRY_KEYS:
        raise WorkflowError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if "on_failure" in entry and (entry["on_failure"] != "rollback" or not workflow.get("rollback")):
        raise WorkflowError(f"{where}: on_failure takes rollback, and the workflow must have a rollback path")


def workflow_nodes(workflow: dict[str, Any], organization: str) -> list[dict[str, Any]]:
    """The workflow's nodes, each with its job template or approval and its success and failure edges."""
    name = workflow.get("name", "?")
    paths = {"path": workflow.get("path") or [], "rollback": workflow.get("rollback") or []}
    if not paths["path"]:
        raise WorkflowError(f"workflow {name}: path is empty")
    for path, entries in paths.items():
        for index, entry in enumerate(entries):
            _check(workflow, f"workflow {name}, {path}[{index}]", entry)
    rollback = [{"identifier": _identifier(paths["rollback"][0], "rollback")}] if paths["rollback"] else []
    nodes = []
    for path, entries in paths.items():
        ids = [_identifier(entry, path) for entry in entries]
        for index, entry in enumerate(entries):
            related: dict[str, list[dict[str, str]]] = {
                "success_nodes": [{"identifier": ids[index + 1]}] if index + 1 < len(ids) else [],
                "failure_nodes": rollback if entry.get("on_failure") == "rollback" else []}
            nodes.append({"identifier": ids[index], "unified_job_template": _template(entry, organization),
                          "related": related})
    return nodes
