# Records every runbook step run in the inventory's hash-chained audit trail, also for plain
# ansible-playbook runs: a play that sets kt2_runbook_step is a runbook step.
from __future__ import annotations

DOCUMENTATION = r"""
name: audit
type: notification
short_description: Record runbook step runs in the kt2ops audit trail
description:
  - For a playbook whose play sets C(kt2_runbook_step) (and the extra variable C(kt2_domain)), appends a
    C(step.start) record when the play starts and a C(step.end) record when the playbook ends to
    C(<inventory>/.runbook/audit.jsonl) with the step id, undo, domain, environment, operator, times, the extra
    variables as inputs (any whose name suggests a secret is redacted), ok/changed/failed counts, the
    result (ok, failed, or refused by the runbook gate) and the hashes of the artefacts tasks produced
    (C(kt2_artefacts) in a task result). Records are hash-chained (C(kt2 audit verify)).
  - A run killed midway leaves its start record without an end: the state shows it as interrupted.
requirements: [kt2ops]
"""

import uuid
from pathlib import Path

from ansible import constants as C
from ansible import context
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.callback import CallbackBase
from ansible.template import Templar

from kt2ops.runbook.audit import operator
from kt2ops.runbook.state import audit_log

GATE_ACTIONS = {"kt2ops.platform.runbook_gate", "runbook_gate"}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "kt2ops.platform.audit"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._run = None

    def v2_playbook_on_play_start(self, play):
        if self._run is not None:
            return
        manager = play.get_variable_manager()
        extra = dict(manager.extra_vars)
        templar = Templar(loader=play._loader, variables={**play.vars, **extra})
        step = templar.template(play.vars.get("kt2_runbook_step", ""))
        if not step or not extra.get("kt2_domain"):
            return
        sources = context.CLIARGS.get("inventory") or [C.DEFAULT_HOST_LIST]
        self._log = audit_log(Path(sources[0] if isinstance(sources, (list, tuple)) else sources))
        self._run = {"run": uuid.uuid4().hex, "step": str(step),
                     "undo": boolean(extra.get("kt2_undo", False), strict=False),
                     "domain": str(extra["kt2_domain"]), "environment": extra.get("kt2_target")}
        self._facts = {"counts": {}, "artefacts": {}, "reason": "", "refused": False}
        self._log.append({"type": "step.start", **self._run, "operator": operator(extra.get("awx_user_name")),
                          "check_mode": bool(context.CLIARGS.get("check")), "playbook": play.get_name(),
                          "inputs": {k: v for k, v in extra.items() if k != "kt2_domain"}})

    def v2_runner_on_ok(self, result):
        if self._run is None:
            return
        produced = result._result.get("kt2_artefacts")
        if isinstance(produced, dict):
            self._facts["artefacts"].update(produced)
        if result._task.action in GATE_ACTIONS and result._result.get("target"):
            self._run["environment"] = result._result["target"]

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if self._run is None or ignore_errors or self._facts["reason"]:
            return
        self._facts["refused"] = result._task.action in GATE_ACTIONS
        self._facts["reason"] = f"{result._task.get_name()}: {result._result.get('msg', 'failed')}"

    def v2_runner_on_unreachable(self, result):
        self.v2_runner_on_failed(result)

    def v2_playbook_on_stats(self, stats):
        if self._run is None:
            return
        totals = {"ok": 0, "changed": 0, "failed": 0, "unreachable": 0}
        for host in stats.processed:
            summary = stats.summarize(host)
            for key in ("ok", "changed"):
                totals[key] += summary[key]
            totals["failed"] += summary["failures"]
            totals["unreachable"] += summary["unreachable"]
        failed = totals["failed"] or totals["unreachable"] or self._facts["reason"]
        result = ("refused" if self._facts["refused"] else "failed") if failed else "ok"
        self._log.append({"type": "step.end", **self._run, "result": result, "reason": self._facts["reason"],
                          "counts": totals, "artefacts": self._facts["artefacts"]})
        self._run = None

