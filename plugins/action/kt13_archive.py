# Runbook S.4 (archive) and the check S.5 makes before removing the KT 1.3 domain.
from __future__ import annotations

DOCUMENTATION = r"""
module: kt13_archive
short_description: Archive a domain's KT 1.3 messages (compressed, hashed, encrypted) or verify the archive
description:
  - C(mode=archive) (S.4) streams the domain's messages from the KT 1.3 server, gzips them and seals them in a
    data package (age, SHA-256 manifest; the key apart in C(<keys>/<domain>/S4-archive.key)), then opens the
    package again and requires the decompressed content to hash as the export did. Unchanged when a verified
    archive of exactly the current data exists.
  - C(mode=verify) (before S.5) re-verifies the archive and requires KT 1.3 to still hold exactly what it holds;
    fails otherwise, so nothing is removed without a proven archive.
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  kt13_domain: {description: The domain's KT 1.3 name., type: str, required: true}
  kt13_host: {description: Inventory host of the KT 1.3 server., type: str, required: true}
  archives: {description: Directory of the archives on the control machine., type: path, required: true}
  key_dir: {description: "Directory of their keys, apart from the archives.", type: path, required: true}
  mode: {description: archive or verify., type: str, default: archive, choices: [archive, verify]}
author: kt2ops
"""

from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from kt2ops.action_args import argument_spec
from kt2ops.lifeline import end_with_parent
from kt2ops.migration.archive import ArchiveError, archive, verify
from kt2ops.runbook.remote import Remote, RemoteError

ARGS = argument_spec(DOCUMENTATION)


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGS)
        end_with_parent()  # a killed ansible-playbook takes this long step with it
        kt13 = Remote.from_hostvars(args["kt13_host"], task_vars["hostvars"][args["kt13_host"]])
        where = (args["domain"], args["kt13_domain"], Path(args["archives"]), Path(args["key_dir"]))
        try:
            if args["mode"] == "verify" or self._task.check_mode:
                record, made = verify(*where, kt13=kt13), False
            else:
                record, made = archive(kt13, args["domain"], args["kt13_domain"], where[2], where[3])
        except (ArchiveError, RemoteError, OSError) as exc:
            if self._task.check_mode and args["mode"] == "archive":
                return {**result, "changed": True, "msg": f"S.4 would archive {args['kt13_domain']} ({exc})"}
            raise AnsibleActionFail(f"S.4 archive of {args['kt13_domain']}: {exc}") from exc
        return {**result, "changed": made, "archive": record,
                "msg": f"archive {record['package']} of {args['kt13_domain']}: {record['rows']} messages, verified "
                       f"(decompressed SHA-256 {record['export_sha256'][:16]}...)",
                "kt2_artefacts": {"archive": record["package"], "archive_sha256": record["encrypted_sha256"],
                                  "export_sha256": record["export_sha256"], "rows": record["rows"],
                                  "archive_verified": True}}
