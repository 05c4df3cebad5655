# Runbook M.2: the trial migration on mgr2 with a cleaned, encrypted, hash-verified copy of production data.
from __future__ import annotations

DOCUMENTATION = r"""
module: trial_migration
short_description: Trial migration (runbook M.2) - deliver a cleaned, sealed copy, then migrate it
description:
  - C(phase=deliver) exports the domain from the KT 1.3 server, cleans it by the declared rules (appendix B.3,
    C(kt2 package clean) rules), seals it (age, SHA-256 manifest, key apart under C(.runbook/keys)) and puts
    package and manifest into the trial environment's SFTP transfer area (B.1). Verify it there with
    C(kt2ops.platform.package_verify) (B.2).
  - C(phase=migrate) opens the package on the control machine (verified again), validates and migrates it
    into the trial environment as P.8 does, and writes C(trial.json) with the error percentage, the duration
    and an estimate of the production run from the domain's expected counts (K.3).
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  phase: {description: deliver or migrate., type: str, required: true, choices: [deliver, migrate]}
  kt13_host: {description: Inventory host of the KT 1.3 server., type: str}
  environment: {description: Trial environment id., type: str, required: true}
  environment_host: {description: Its inventory host., type: str, required: true}
  rules: {description: Cleaning rules file (deliver)., type: path}
  pki_dir: {description: The control machine's PKI directory (migrate)., type: path}
  batch_size: {description: Resources per transaction Bundle., type: int, default: 200}
author: kt2ops
"""

from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from kt2ops.action_args import argument_spec
from kt2ops.lifeline import end_with_parent
from kt2ops.migration.client import FhirError
from kt2ops.migration.step import ValidationFailed, target_of, workdir
from kt2ops.migration.trial import deliver, make_package, run_trial
from kt2ops.runbook.context import RunbookError, load_domain
from kt2ops.runbook.remote import Remote, RemoteError
from kt2ops.security.cleaning import CleaningError
from kt2ops.security.package import PackageError

ARGS = argument_spec(DOCUMENTATION)


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGS)
        end_with_parent()  # a killed ansible-playbook takes this long step with it
        hostvars, inventory = task_vars["hostvars"], Path(task_vars["inventory_dir"])
        what = f"M.2 trial migration of {args['domain']} on {args['environment']} ({args['phase']})"
        if self._task.check_mode:
            return {**result, "changed": True, "msg": f"{what} would run"}
        try:
            doc = load_domain(inventory, args["domain"])
            if args["phase"] == "deliver":
                made = make_package(Remote.from_hostvars(args["kt13_host"], hostvars[args["kt13_host"]]), doc,
                                    Path(args["rules"]), inventory / ".runbook")
                deliver(Remote.from_hostvars(args["environment_host"], hostvars[args["environment_host"]]),
                        [Path(made["package"]), Path(made["manifest"])])
                removed = {r["id"]: [r["messages_removed"], r["fields_removed"]] for r in made["cleaning"]}
                return {**result, "changed": made["sealed"], "delivery": made,
                        "msg": f"{what}: cleaned (rule: [messages, fields] removed) {removed}, "
                               f"{'sealed' if made['sealed'] else 'unchanged since the last seal'}, delivered",
                        "kt2_artefacts": {"package": Path(made["package"]).name, "cleaning": removed}}
            target = target_of(hostvars[args["environment_host"]], args["environment"], Path(args["pki_dir"]))
            expected = sum(doc["migration"].get("expected_counts", {}).values()) or None
            report = run_trial(doc, inventory / ".runbook", workdir(inventory, args["domain"], args["environment"]),
                               target, expected, args["batch_size"])
        except (RunbookError, RemoteError, FhirError, ValidationFailed, CleaningError, PackageError,
                OSError) as exc:
            raise AnsibleActionFail(f"{what}: {exc}") from exc
        estimate = report["estimated_production_seconds"]
        return {**result, "changed": sum(report["bundles"].values()) > 0, "report": report,
                "msg": f"{what}: {sum(report['migrated'].values())} resources in {report['seconds']} s, "
                       f"error rate {report['error_rate_percent']}%"
                       + (f"; production estimate {estimate} s for {report['expected_production_resources']} "
                          "resources (K.3)" if estimate else ""),
                "kt2_artefacts": {"error_rate_percent": report["error_rate_percent"], "seconds": report["seconds"],
                                  "estimated_production_seconds": estimate,
                                  "package_sha256": report["package_sha256"]}}
