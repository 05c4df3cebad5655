# Runbook Q.10: after opening, every application of the domain reaches KT 2.0.
from __future__ import annotations

from pathlib import Path

from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops.migration.quality_gate import applications_reach
from kt2ops.migration.target import target_from_vars
from kt2ops.runbook.context import load_domain


class ActionModule(Kt2Action):
    ends_with_parent = False

    def act(self, args, task_vars, result):
        doc = load_domain(Path(task_vars["inventory_dir"]), args["domain"])
        target = target_from_vars(task_vars, args["environment"])
        checks = applications_reach(target, doc)
        result.update(changed=False, checks=[c.line() for c in checks])
        unmet = [c.line() for c in checks if not c.met]
        if unmet:
            result.update(failed=True, msg="; ".join(unmet))
        else:
            result["msg"] = f"every application of {args['domain']} reaches {args['environment']}"
        return result
