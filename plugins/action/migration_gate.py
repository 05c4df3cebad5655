# Runbook Q: the post-migration quality gate's checks on the migrated data.
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ansible.utils.display import Display
from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops.migration.quality_gate import quality_checks
from kt2ops.migration.target import migration_dir, runbook_target
from kt2ops.runbook.context import RunbookError, load_domain


class ActionModule(Kt2Action):
    def what(self, args):
        return f"Q gate of {args['domain']} on {args['target']}"

    def act(self, args, task_vars, result):
        inventory = Path(task_vars["inventory_dir"])
        what = self.what(args)
        doc = load_domain(inventory, args["domain"])
        work = migration_dir(inventory, args["domain"], args["target"])
        if not (work / "source-totals.json").exists():
            raise RunbookError(f"{work}/source-totals.json is missing: P.8 has not finished for this target")
        # Exempt (P.8L), the capacity load is not limited to one address's share.
        target = runbook_target(task_vars, args["target"], args["domain"], Display().display)
        client = target.client(args["domain"])
        try:
            checks = quality_checks(work, doc, client, args["load_seconds"], args["p95_limit_ms"],
                                    args["load_attempts"], target.rate_limit)
        finally:
            client.close()
        report = [{"id": c.id, "title": c.title, "met": c.met, "figures": c.figures} for c in checks]
        text = json.dumps(report, indent=1, sort_keys=True) + "\n"
        if not self._task.check_mode:
            (work / "q-gate.json").write_text(text)
        unmet = [c for c in checks if not c.met]
        result.update(changed=False, checks=[c.line() for c in checks],
                      kt2_artefacts={"q-gate.json": hashlib.sha256(text.encode()).hexdigest()})
        if unmet:
            result.update(failed=True, msg=f"{what}: unmet: " + "; ".join(c.line() for c in unmet))
        else:
            result["msg"] = f"{what}: all {len(checks)} checks met"
        return result
