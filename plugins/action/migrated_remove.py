# Rollback R, M.5 and S.1: remove a domain's migrated content from a KT 2.0 environment, verified.
from __future__ import annotations

DOCUMENTATION = r"""
module: migrated_remove
short_description: Remove every migrated resource of a domain from a KT 2.0 environment, and verify
description:
  - Deletes, through FHIR as the domain's migration application, every resource that carries the migration
    identifier (dependents first, in transaction Bundles), then counts again with C(_summary=count); any left
    fails the task. Also removes the migration's checkpoint for that environment, so a later P.8 starts anew.
  - Unchanged when nothing migrated is there. In check mode, counts what would be removed.
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  environment: {description: Environment id., type: str, required: true}
  environment_host: {description: Inventory host of the environment., type: str, required: true}
  pki_dir: {description: The control machine's PKI directory., type: path, required: true}
author: kt2ops
"""

from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from kt2ops.action_args import argument_spec
from kt2ops.lifeline import end_with_parent
from kt2ops.migration.client import FhirError
from kt2ops.migration.step import migration_dir, remove_migrated, target_of
from kt2ops.migration.totals import target_counts

ARGS = argument_spec(DOCUMENTATION)


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGS)
        end_with_parent()  # a killed ansible-playbook takes this long step with it
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
