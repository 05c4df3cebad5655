# Rollback R, M.5 and S.1: remove a domain's migrated content from a KT 2.0 environment, verified.
from __future__ import annotations

from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops.migration.content import SOURCE_FACTS
from kt2ops.migration.rollback import remove_migrated
from kt2ops.migration.target import migration_dir, target_from_vars
from kt2ops.migration.totals import target_counts


class ActionModule(Kt2Action):
    def what(self, args):
        return f"removing the migrated content of {args['domain']} from {args['environment']}"

    def act(self, args, task_vars, result):
        what = self.what(args)
        target = target_from_vars(task_vars, args["environment"])
        work = migration_dir(Path(task_vars["inventory_dir"]), args["domain"], args["environment"])
        # What the control machine kept of the migration: the checkpoint (server ids; with its write-ahead log
        # after a killed run) and Q.2's source facts (the clients' names and birth dates): both go with it.
        kept = sorted(work.glob("checkpoint.sqlite*")) + sorted(work.glob(SOURCE_FACTS))
        client = target.client(args["domain"])
        try:
            before = target_counts(client)
            there = sum(before.values())
            if self._task.check_mode or not there:
                if not self._task.check_mode:
                    for path in kept:
                        path.unlink()
                return {**result, "changed": there > 0 or bool(kept), "counts": before,
                        "msg": f"{what}: {there} resource(s) there"}
            removed = remove_migrated(client)
            left = target_counts(client)
        finally:
            client.close()
        for path in kept:
            path.unlink()
        if any(left.values()):
            raise AnsibleActionFail(f"{what}: still there after removal: {left}")
        return {**result, "changed": True, "removed": removed, "msg": f"{what}: removed {removed}, none left",
                "kt2_artefacts": {"removed": removed, "left": 0}}
