# Runbook P.8 (and M.2 on mgr2): validate the domain's KT 1.3 export and replay it into KT 2.0.
from __future__ import annotations

DOCUMENTATION = r"""
module: domain_migrate
short_description: Validate a domain's KT 1.3 export and migrate it into a KT 2.0 environment
description:
  - Streams the domain's export from the KT 1.3 server (over SSH, from its loopback contract) to the control
    machine, checks it against the specification and on content (C(validation.json), C(validation.txt));
    a blocking finding fails the task and nothing is imported.
  - Replays it in reference order into the target's resource service in transaction Bundles of conditional
    creates, as the domain's migration application (SMART backend services). A checkpoint lets a killed run
    resume; a second run sends nothing (changed=false). See C(kt2ops.migration).
  - Progress lines (per type, rate, ETA) are shown while it runs; the error list goes to C(errors.json).
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  kt13_host: {description: Inventory host of the KT 1.3 server., type: str, required: true}
  target: {description: Target environment id., type: str, required: true}
  target_host: {description: Inventory host of the target environment., type: str, required: true}
  pki_dir: {description: The control machine's PKI directory (CA and keys per environment)., type: path, required: true}
  batch_size: {description: Resources per transaction Bundle., type: int, default: 200}
author: kt2ops
"""

from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from kt2ops.action_args import argument_spec
from kt2ops.lifeline import end_with_parent
from kt2ops.migration.client import FhirError
from kt2ops.migration.step import ValidationFailed, fetch_export, migrate, target_of, throttled, workdir
from kt2ops.runbook.context import RunbookError, load_domain
from kt2ops.runbook.remote import Remote, RemoteError

ARGS = argument_spec(DOCUMENTATION)


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGS)
        end_with_parent()  # a killed ansible-playbook takes this long step with it
        hostvars = task_vars["hostvars"]
        inventory = Path(task_vars["inventory_dir"])
        what = f"P.8 migration of {args['domain']} to {args['target']}"
        try:
            doc = load_domain(inventory, args["domain"])
            target = target_of(hostvars[args["target_host"]], args["target"], Path(args["pki_dir"]))
            if self._task.check_mode:
                return {**result, "changed": True, "msg": f"{what} would run (nothing fetched in check mode)"}
            work = workdir(inventory, args["domain"], args["target"])
            export = work / "export.jsonl"
            export_sha256 = fetch_export(Remote.from_hostvars(args["kt13_host"], hostvars[args["kt13_host"]]),
                                         doc["kt13"]["domain"], export)
            summary = migrate(export, work, doc, target, args["batch_size"], progress=throttled(Display().display))
        except (RunbookError, RemoteError, FhirError, ValidationFailed, OSError) as exc:
            raise AnsibleActionFail(f"{what}: {exc}") from exc
        sent = sum(summary["bundles"].values())
        migrated = ", ".join(f"{k} {v}" for k, v in summary["migrated"].items())
        return {**result, "changed": sent > 0, "summary": summary,
                "msg": f"{what}: {migrated}; {summary['errors']} error(s) ({summary['error_rate_percent']}%), "
                       f"{sent} Bundle(s) sent in {summary['seconds']} s; reports in {work}",
                "kt2_artefacts": {"export": export_sha256, "validation.json": summary["validation_sha256"],
                                  "errors.json": summary["errors_sha256"], "migration.json": summary["sha256"]}}

