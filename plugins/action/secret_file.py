# A secret stored vault-encrypted on the control machine (kt2ops.secrets), written only when it differs.
from __future__ import annotations

import os

from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops.secrets import is_vaulted, read_secret, write_secret


class ActionModule(Kt2Action):
    def act(self, args, task_vars, result):
        # Stored with one final newline; trailing newlines do not count (the file lookup strips them).
        path, content = args["path"], args["content"].rstrip("\n").encode() + b"\n"
        if os.path.exists(path) and is_vaulted(path) and read_secret(path).rstrip(b"\n") + b"\n" == content:
            return {**result, "changed": False, "path": path}
        if not self._task.check_mode:
            write_secret(path, content)
        return {**result, "changed": True, "path": path}
