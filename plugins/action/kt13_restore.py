# Rollback R: KT 1.3 as it was at the P.2 backup, verified by its hashes.
from __future__ import annotations

from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops.layout import setting
from kt2ops.remote import Remote
from kt2ops.runbook.backup import BackupError, latest, parts_for, restore_kt13, running_again, still_current
from kt2ops.secrets import age_identity


class ActionModule(Kt2Action):
    def what(self, args):
        return f"KT 1.3 data of {args['kt13_domain']} against the P.2 backup"

    def act(self, args, task_vars, result):
        what = self.what(args)
        hostvars = task_vars["hostvars"][args["kt13_host"]]
        remote = Remote.from_hostvars(args["kt13_host"], hostvars)
        database = setting(hostvars, "kt13_server_database")
        parts = [p for p in parts_for(args["domain"], args["kt13_domain"], remote, database, None, None) if p.database]
        manifest = latest(Path(args["backups"]), args["domain"], "P.2")
        if manifest is None:
            raise AnsibleActionFail(f"{what}: there is no P.2 backup of {args['domain']}")
        kt13_manifest = {**manifest, "parts": [p for p in manifest["parts"] if p["name"].startswith("kt13-")]}
        if running_again(remote, database, args["kt13_domain"]):
            return {**result, "changed": False,
                    "msg": f"{what}: KT 1.3 runs the domain again (open or unfrozen), so its data is its own "
                           "now; not compared with the backup"}
        if still_current(kt13_manifest, parts):
            return {**result, "changed": False, "msg": f"{what}: identical, nothing to restore",
                    "kt2_artefacts": {"kt13_vs_backup": "identical", "backup": manifest["backup"]}}
        if self._task.check_mode:
            return {**result, "changed": True, "msg": f"{what}: changed, would be restored"}
        restore_kt13(Path(args["backups"]) / args["domain"] / manifest["backup"], parts,
                     age_identity(manifest["key_file"]), args["kt13_domain"])
        if not still_current(kt13_manifest, parts):
            raise BackupError("after the restore the data still differs from the backup")
        return {**result, "changed": True, "msg": f"{what}: restored, now identical",
                "kt2_artefacts": {"kt13_vs_backup": "restored, identical", "backup": manifest["backup"]}}
