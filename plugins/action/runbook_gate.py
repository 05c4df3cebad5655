# The first task of every runbook step: may this step run for this domain now?
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops.runbook.context import RunbookError, build_context, environment_vars
from kt2ops.runbook.gate import evaluate
from kt2ops.runbook.state import audit_log, domain_state


class ActionModule(Kt2Action):
    ends_with_parent = False

    def what(self, args):
        return f"runbook {args['step']} for {args['domain']}"

    def act(self, args, task_vars, result):
        inventory = Path(task_vars["inventory_dir"])
        env_vars = environment_vars({h: task_vars["hostvars"][h] for h in task_vars["groups"]["all"]})
        try:
            ctx = build_context(inventory, args["domain"], env_vars, args["target"], args["announce_days"])
        except KeyError as exc:  # an environment the inventory does not hold
            raise RunbookError(str(exc)) from None
        verdict = evaluate(ctx, domain_state(audit_log(inventory), ctx.domain_id), args["step"], args["undo"],
                           datetime.now(UTC), args["emergency_reason"])
        doc = ctx.domain
        result.update(
            changed=False, step=verdict.step, target=verdict.target, trial=ctx.trial, notes=verdict.notes,
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
