# Rollback R, M.5 and S.1: remove a domain's migrated content from a KT 2.0 environment, verified.
from __future__ import annotations

from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops.migration.client import FhirError
from kt2ops.migration.rollback import remove_migrated
from kt2ops.migration.target import migration_dir, target_of
from kt2ops.migration.totals import target_counts


class ActionModule(Kt2Action):
    def act(self, args, task_vars, result):
        what = f"removing the migrated content of {args['domain']} from {args['environment']}"
        target = target_of(task_vars["hostvars"][args["environment_host"]], args["environment"], Path(args["pki_dir"]))
        client = target.client(args["domain"])
        try:
            before = target_counts(client)
            there = sum(before.values())
            if self._task.check_mode or not there:
                return {**result, "changed": there > 0, "counts": before, "msg": f"{what}: {there} resource(s) there"}
            removed = remove_migrated(client)
            left = target_counts(client)
        except (FhirError, OSError) as exc:
            raise AnsibleActionFail(f"{what}: {exc}") from exc
        finally:
            client.close()
        checkpoint = migration_dir(Path(task_vars["inventory_dir"]), args["domain"], args["environment"])
        (checkpoint / "checkpoint.sqlite").unlink(missing_ok=True)
        if any(left.values()):
            raise AnsibleActionFail(f"{what}: still there after removal: {left}")
        return {**result, "changed": True, "removed": removed, "msg": f"{what}: removed {removed}, none left",
                "kt2_artefacts": {"removed": removed, "left": 0}}
