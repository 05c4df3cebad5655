# Runbook S.4 (archive) and the check S.5 makes before removing the KT 1.3 domain.
from __future__ import annotations

from pathlib import Path

from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops.migration.archive import ArchiveError, archive, verify
from kt2ops.remote import Remote, RemoteError


class ActionModule(Kt2Action):
    def what(self, args):
        return f"S.4 archive of {args['kt13_domain']}"

    def act(self, args, task_vars, result):
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
            raise
        return {**result, "changed": made, "archive": record,
                "msg": f"archive {record['package']} of {args['kt13_domain']}: {record['rows']} messages, verified "
                       f"(decompressed SHA-256 {record['export_sha256'][:16]}...)",
                "kt2_artefacts": {"archive": record["package"], "archive_sha256": record["encrypted_sha256"],
                                  "export_sha256": record["export_sha256"], "rows": record["rows"],
                                  "archive_verified": True}}
