# Runbook P.8 (and M.2 on mgr2): validate the domain's KT 1.3 export and replay it into KT 2.0.
from __future__ import annotations

from pathlib import Path

from ansible.utils.display import Display
from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops.migration.p8 import fetch_export, migrate, throttled
from kt2ops.migration.target import runbook_target, workdir
from kt2ops.remote import Remote
from kt2ops.runbook.context import load_domain


class ActionModule(Kt2Action):
    def what(self, args):
        return f"P.8 migration of {args['domain']} to {args['target']}"

    def act(self, args, task_vars, result):
        hostvars = task_vars["hostvars"]
        inventory = Path(task_vars["inventory_dir"])
        what = self.what(args)
        doc = load_domain(inventory, args["domain"])
        display = Display().display
        target = runbook_target(task_vars, args["target"], args["domain"], display)
        if self._task.check_mode:
            return {**result, "changed": True, "msg": f"{what} would run (nothing fetched in check mode)"}
        work = workdir(inventory, args["domain"], args["target"])
        export = work / "export.jsonl"
        export_sha256 = fetch_export(Remote.from_hostvars(args["kt13_host"], hostvars[args["kt13_host"]]),
                                     doc["kt13"]["domain"], export)
        summary = migrate(export, work, doc, target, args["batch_size"], progress=throttled(display),
                          concurrency=args["concurrency"])
        sent = sum(summary["bundles"].values())
        migrated = ", ".join(f"{k} {v}" for k, v in summary["migrated"].items())
        return {**result, "changed": sent > 0, "summary": summary,
                "msg": f"{what}: {migrated}; {summary['errors']} error(s) ({summary['error_rate_percent']}%), "
                       f"{sent} Bundle(s) sent in {summary['seconds']} s; reports in {work}",
                "kt2_artefacts": {"export": export_sha256, "validation.json": summary["validation_sha256"],
                                  "errors.json": summary["errors_sha256"], "migration.json": summary["sha256"]}}

