# Before a run changes anything: every vault-encrypted secret of the inventory opens with its password.
from __future__ import annotations

from pathlib import Path

from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops.secrets import SecretError, inventory_secret_dirs, read_secret, vaulted_files


class ActionModule(Kt2Action):
    def act(self, args, task_vars, result):
        refused, opened = [], 0
        for path in vaulted_files(*inventory_secret_dirs(Path(args["inventory"]))):
            try:
                read_secret(path)
                opened += 1
            except SecretError as error:
                refused.append(str(error))
        if refused:
            return {**result, "failed": True, "opened": opened, "refused": refused,
                    "msg": f"{len(refused)} secret(s) do not open, nothing was changed: " + "; ".join(refused)}
        return {**result, "changed": False, "opened": opened,
                "msg": f"{opened} vault-encrypted secret(s) open with this run's password"}
