# Runbook L.2 / P.2 (appendix B.7): a restore-tested, encrypted backup of all of a domain's data.
from __future__ import annotations

DOCUMENTATION = r"""
module: domain_backup
short_description: Back up a domain's data, streamed and encrypted, and prove it restores
description:
  - Streams every part of the domain (KT 1.3 domain and messages, the KT 2.0 domain and resources on the
    target environment, the applications' files) from its host over SSH into age encryption on the
    control machine, with a SHA-256 manifest; then restores each table into a scratch database on its
    host and requires the restored data to hash the same. See C(kt2ops.runbook.backup).
  - Unchanged (changed=false) when the newest backup of the same step still matches the data exactly.
  - In check mode, reports whether a backup would be made, comparing hashes computed on the hosts.
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  kt13_domain: {description: The domain's KT 1.3 name., type: str, required: true}
  step: {description: Runbook step making the backup (L.2 or P.2)., type: str, required: true}
  kt13_host: {description: Inventory host of the KT 1.3 server., type: str, required: true}
  kt13_database: {description: The KT 1.3 server's database., type: str, default: kt13}
  target_host: {description: Inventory host of the target KT 2.0 environment., type: str}
  target_database: {description: The target's resource database., type: str}
  dest: {description: Directory of the backups on the control machine., type: path, required: true}
  key_dir: {description: "Directory of the backups' keys, apart from the backups.", type: path, required: true}
author: kt2ops
"""

from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from kt2ops.action_args import argument_spec
from kt2ops.lifeline import end_with_parent
from kt2ops.runbook.backup import BackupError, backup, latest, parts_for, still_current
from kt2ops.runbook.remote import Remote, RemoteError

ARGS = argument_spec(DOCUMENTATION)


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGS)
        end_with_parent()  # a killed ansible-playbook takes this long step with it
        hostvars = task_vars["hostvars"]

        def remote(name):
            return Remote.from_hostvars(name, hostvars[name]) if name else None

        parts = parts_for(args["domain"], args["kt13_domain"], remote(args["kt13_host"]), args["kt13_database"],
                          remote(args["target_host"]), args["target_database"])
        dest, keys = Path(args["dest"]), Path(args["key_dir"])
        try:
            if self._task.check_mode:
                same = still_current(latest(dest, args["domain"], args["step"]), parts)
                return {**result, "changed": not same, "msg": "the newest backup still matches" if same
                        else "a new backup would be made"}
            manifest, made = backup(parts, dest, keys, args["domain"], args["step"])
        except (BackupError, RemoteError) as exc:
            raise AnsibleActionFail(f"{args['step']} backup of {args['domain']}: {exc}") from exc
        rows = ", ".join(f"{p['name']} {p['rows']} rows" for p in manifest["parts"] if p["rows"] is not None)
        return {**result, "changed": made, "manifest": manifest,
                "msg": f"{'made' if made else 'unchanged, still current:'} {manifest['backup']} ({rows}); "
                       f"restore test: {manifest['restore_test']}",
                "kt2_artefacts": {"backup": manifest["backup"], "hash_total": manifest["hash_total"],
                                  "restore_test": manifest["restore_test"],
                                  **{f"{p['name']}.age": p["encrypted_sha256"] for p in manifest["parts"]}}}
