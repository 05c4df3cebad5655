# Runbook L.2 / P.2 (appendix B.7): a restore-tested, encrypted backup of all of a domain's data.
from __future__ import annotations

from pathlib import Path

from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops.remote import Remote
from kt2ops.runbook.backup import backup, latest, parts_for, still_current


class ActionModule(Kt2Action):
    def what(self, args):
        return f"{args['step']} backup of {args['domain']}"

    def act(self, args, task_vars, result):
        hostvars = task_vars["hostvars"]

        def remote(name):
            return Remote.from_hostvars(name, hostvars[name]) if name else None

        parts = parts_for(args["domain"], args["kt13_domain"], remote(args["kt13_host"]), args["kt13_database"],
                          remote(args["target_host"]), args["target_database"])
        dest, keys = Path(args["dest"]), Path(args["key_dir"])
        if self._task.check_mode:
            same = still_current(latest(dest, args["domain"], args["step"]), parts)
            return {**result, "changed": not same, "msg": "the newest backup still matches" if same
                    else "a new backup would be made"}
        manifest, made = backup(parts, dest, keys, args["domain"], args["step"])
        rows = ", ".join(f"{p['name']} {p['rows']} rows" for p in manifest["parts"] if p["rows"] is not None)
        return {**result, "changed": made, "manifest": manifest,
                "msg": f"{'made' if made else 'unchanged, still current:'} {manifest['backup']} ({rows}); "
                       f"restore test: {manifest['restore_test']}",
                "kt2_artefacts": {"backup": manifest["backup"], "hash_total": manifest["hash_total"],
                                  "restore_test": manifest["restore_test"],
                                  **{f"{p['name']}.age": p["encrypted_sha256"] for p in manifest["parts"]}}}
