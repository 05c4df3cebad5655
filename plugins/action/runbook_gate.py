# The first task of every runbook step: may this step run for this domain now?
from __future__ import annotations

DOCUMENTATION = r"""
module: runbook_gate
short_description: Refuse a runbook step whose preconditions or maintenance window are not met
description:
  - Replays the domain's runbook state from the audit trail (C(<inventory>/.runbook/audit.jsonl)) and
    refuses the step, with every reason, when a step it needs is not done (e.g. P.3 before the O gate),
    when the O checklist (checks 1-10) is not met, or when the step disrupts a production environment
    outside its maintenance window (C(kt2_maintenance)) and no emergency reason is given.
  - Changes nothing; runs in check mode too. Returns the domain's facts the step's tasks need.
options:
  step: {description: "Runbook step id (L.1, O, P.3, ...).", type: str, required: true}
  domain: {description: KT 2.0 domain id (the domain file's id)., type: str, required: true}
  undo: {description: Whether this run undoes the step (rollback R)., type: bool, default: false}
  target: {description: The KT 2.0 environment migrated to; default the domain's production environment., type: str}
  emergency_reason: {description: Why a production step runs outside a window (recorded)., type: str, default: ""}
  announce_days: {description: Days the migration must be announced ahead (O check 7)., type: int, default: 14}
author: kt2ops
"""

from datetime import UTC, datetime
from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from kt2ops.action_args import argument_spec
from kt2ops.runbook.context import RunbookError, build_context, environment_vars
from kt2ops.runbook.gate import evaluate
from kt2ops.runbook.state import audit_log, domain_state
from kt2ops.runbook.windows import CalendarError

ARGS = argument_spec(DOCUMENTATION)


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGS)
        inventory = Path(task_vars["inventory_dir"])
        env_vars = environment_vars({h: task_vars["hostvars"][h] for h in task_vars["groups"]["all"]})
        try:
            ctx = build_context(inventory, args["domain"], env_vars, args["target"], args["announce_days"])
            verdict = evaluate(ctx, domain_state(audit_log(inventory), ctx.domain_id), args["step"], args["undo"],
                               datetime.now(UTC), args["emergency_reason"])
        except (RunbookError, CalendarError, KeyError) as exc:
            raise AnsibleActionFail(f"runbook {args['step']} for {args['domain']}: {exc}") from exc
        doc = ctx.domain
        result.update(
            changed=False, target=verdict.target, notes=verdict.notes,
            checklist=[f"{'met  ' if c.met else 'UNMET'} O.{c.id} {c.text}: {c.reason}" for c in verdict.checklist],
            domain={"id": ctx.domain_id, "kt13": doc["kt13"]["domain"],
                    "applications": [a["id"] for a in doc["applications"]],
                    "sending": [f"apps/{ctx.domain_id}/{a['id']}/sending" for a in doc["applications"]],
                    "triggers_off": [{"app": a["id"], "trigger": t["id"],
                                      "path": f"apps/{ctx.domain_id}/{a['id']}/triggers/{t['id']}"}
                                     for a in doc["applications"]
                                     for t in a.get("trigger_functions", []) if t.get("switch_off_during_migration")]})
        if not verdict.ok:
            result.update(failed=True, msg=f"{verdict.step}{' (undo)' if verdict.undo else ''} refused for "
                                           f"{ctx.domain_id}: " + "; ".join(verdict.refusals))
        else:
            result["msg"] = f"{verdict.step} may run for {ctx.domain_id} on {verdict.target}: {verdict.notes[0]}"
        return result
