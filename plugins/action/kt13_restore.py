# Rollback R: KT 1.3 as it was at the P.2 backup, verified by its hashes.
from __future__ import annotations

DOCUMENTATION = r"""
module: kt13_restore
short_description: Verify the domain's KT 1.3 data against the P.2 backup, restoring it when it changed
description:
  - Computes on the KT 1.3 host the SHA-256 of the domain's rows (domain and messages) and compares them with
    the newest P.2 backup's manifest. Equal - nothing to do. Different - the backup's rows are decrypted
    straight into the database (the domain row, then its messages) and compared again; they must be equal.
  - Only while the domain is still stopped on KT 1.3 (frozen, inbound closed, as when P.2 was made); once it
    runs again (after a finished rollback) its new data is never overwritten, and the task is unchanged.
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  kt13_domain: {description: The domain's KT 1.3 name., type: str, required: true}
  kt13_host: {description: Inventory host of the KT 1.3 server., type: str, required: true}
  kt13_database: {description: The KT 1.3 server's database., type: str, default: kt13}
  backups: {description: Directory of the backups on the control machine., type: path, required: true}
author: kt2ops
"""

from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from pyrage import x25519

from kt2ops.action_args import argument_spec
from kt2ops.lifeline import end_with_parent
from kt2ops.runbook.backup import BackupError, latest, parts_for, restore_kt13, running_again, still_current
from kt2ops.runbook.remote import Remote, RemoteError

ARGS = argument_spec(DOCUMENTATION)


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGS)
        end_with_parent()  # a killed ansible-playbook takes this long step with it
        what = f"KT 1.3 data of {args['kt13_domain']} against the P.2 backup"
        remote = Remote.from_hostvars(args["kt13_host"], task_vars["hostvars"][args["kt13_host"]])
        parts = [p for p in parts_for(args["domain"], args["kt13_domain"], remote, args["kt13_database"], None, None)
                 if p.database]
        manifest = latest(Path(args["backups"]), args["domain"], "P.2")
        if manifest is None:
            raise AnsibleActionFail(f"{what}: there is no P.2 backup of {args['domain']}")
        kt13_manifest = {**manifest, "parts": [p for p in manifest["parts"] if p["name"].startswith("kt13-")]}
        try:
            if running_again(remote, args["kt13_database"], args["kt13_domain"]):
                return {**result, "changed": False,
                        "msg": f"{what}: KT 1.3 runs the domain again (open or unfrozen), so its data is its own "
                               "now; not compared with the backup"}
            if still_current(kt13_manifest, parts):
                return {**result, "changed": False, "msg": f"{what}: identical, nothing to restore",
                        "kt2_artefacts": {"kt13_vs_backup": "identical", "backup": manifest["backup"]}}
            if self._task.check_mode:
                return {**result, "changed": True, "msg": f"{what}: changed, would be restored"}
            identity = x25519.Identity.from_str(Path(manifest["key_file"]).read_text().strip())
            restore_kt13(Path(args["backups"]) / args["domain"] / manifest["backup"], parts, identity,
                         args["kt13_domain"])
            if not still_current(kt13_manifest, parts):
                raise BackupError("after the restore the data still differs from the backup")
        except (BackupError, RemoteError, OSError) as exc:
            raise AnsibleActionFail(f"{what}: {exc}") from exc
        return {**result, "changed": True, "msg": f"{what}: restored, now identical",
                "kt2_artefacts": {"kt13_vs_backup": "restored, identical", "backup": manifest["backup"]}}
