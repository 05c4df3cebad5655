# Runbook L.2 / P.2 (appendix B.7): a restore-tested, encrypted backup of all of a domain's data.
from __future__ import annotations

from pathlib import Path

from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops.layout import setting
from kt2ops.migration.target import environment_host
from kt2ops.remote import Remote
from kt2ops.runbook.backup import backup, latest, parts_for, still_current


class ActionModule(Kt2Action):
    def what(self, args):
        return f"{args['step']} backup of {args['domain']}"

    def act(self, args, task_vars, result):
        hostvars = task_vars["hostvars"]

        kt13_host, target = args["kt13_host"], args["target"]
        target_host = environment_host(task_vars["groups"], target) if target else None
        parts = parts_for(args["domain"], args["kt13_domain"], Remote.from_hostvars(kt13_host, hostvars[kt13_host]),
                          setting(hostvars[kt13_host], "kt13_server_database"),
                          Remote.from_hostvars(target_host, hostvars[target_host]) if target_host else None,
                          setting(hostvars[target_host], "kt2_fhir_server_database", target) if target_host else None)
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
