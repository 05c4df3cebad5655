# Records a runbook decision in the audit trail: the job template behind an AWX workflow approval.
from __future__ import annotations

from pathlib import Path

from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops.runbook.context import build_context, environment_vars
from kt2ops.runbook.decisions import record_decision


class ActionModule(Kt2Action):
    def what(self, args):
        return f"decision {args['decision']} {args['value']} for {args['domain']}"

    ends_with_parent = False

    def act(self, args, task_vars, result):
        inventory = Path(task_vars["inventory_dir"])
        env_vars = environment_vars({h: task_vars["hostvars"][h] for h in task_vars["groups"]["all"]})
        what = self.what(args)
        build_context(inventory, args["domain"], env_vars, None)  # the domain exists, the inventory is valid
        if self._task.check_mode:
            record = None
        else:
            record = record_decision(inventory, args["domain"], args["decision"], args["value"], args["by"],
                                     args["role"], args["reason"], task_vars.get("awx_user_name"))
        result.update(changed=True, seq=record and record["seq"],
                      msg=f"{what} by {args['by']} ({args['role']}) "
                          + (f"recorded, audit seq {record['seq']}" if record else "would be recorded"))
        return result
