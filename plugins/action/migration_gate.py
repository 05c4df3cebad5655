# Runbook Q: the post-migration quality gate's checks on the migrated data.
from __future__ import annotations

DOCUMENTATION = r"""
module: migration_gate
short_description: Post-migration quality gate (runbook Q.1-Q.3) on a domain's migrated data
description:
  - Q.1 the error list's rate against the domain's success criteria (K.4); Q.2 counts per type (FHIR
    C(_summary=count)) and hash totals over the migrated content, the KT 1.3 source (from P.8) against the
    target read back through FHIR; Q.3 an acceptance smoke test (migrated tasks and their references read
    back) and a capacity check (open-loop load at the domain's C(peak_requests_per_second), latency
    percentiles). Prints each check met/unmet with its figures, writes C(q-gate.json) and fails when a check
    is unmet. Changes no data.
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  target: {description: Target environment id., type: str, required: true}
  target_host: {description: Inventory host of the target environment., type: str, required: true}
  pki_dir: {description: The control machine's PKI directory., type: path, required: true}
  load_seconds: {description: Duration of the capacity check's load., type: float, default: 10}
  p95_limit_ms: {description: Highest acceptable p95 latency under the peak load., type: float, default: 500}
  load_attempts:
    description: "Capacity measurements at most: the check is met by the first attempt that meets it (a single
      stall of the host does not fail the gate; a target that cannot carry the peak fails every attempt)."
    type: int
    default: 2
author: kt2ops
"""

import hashlib
import json
from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from kt2ops.action_args import argument_spec
from kt2ops.lifeline import end_with_parent
from kt2ops.migration.client import FhirError
from kt2ops.migration.step import migration_dir, quality_checks, target_of
from kt2ops.runbook.context import RunbookError, load_domain

ARGS = argument_spec(DOCUMENTATION)


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGS)
        end_with_parent()  # a killed ansible-playbook takes this long step with it
        inventory = Path(task_vars["inventory_dir"])
        what = f"Q gate of {args['domain']} on {args['target']}"
        try:
            doc = load_domain(inventory, args["domain"])
            work = migration_dir(inventory, args["domain"], args["target"])
            if not (work / "source-totals.json").exists():
                raise RunbookError(f"{work}/source-totals.json is missing: P.8 has not finished for this target")
            target = target_of(task_vars["hostvars"][args["target_host"]], args["target"], Path(args["pki_dir"]))
            client = target.client(args["domain"])
            try:
                checks = quality_checks(work, doc, client, args["load_seconds"], args["p95_limit_ms"],
                                        args["load_attempts"])
            finally:
                client.close()
        except (RunbookError, FhirError, OSError) as exc:
            raise AnsibleActionFail(f"{what}: {exc}") from exc
        report = [{"id": c.id, "title": c.title, "met": c.met, "figures": c.figures} for c in checks]
        text = json.dumps(report, indent=1, sort_keys=True) + "\n"
        if not self._task.check_mode:
            (work / "q-gate.json").write_text(text)
        unmet = [c for c in checks if not c.met]
        result.update(changed=False, checks=[c.line() for c in checks],
                      kt2_artefacts={"q-gate.json": hashlib.sha256(text.encode()).hexdigest()})
        if unmet:
            result.update(failed=True, msg=f"{what}: unmet: " + "; ".join(c.line() for c in unmet))
        else:
            result["msg"] = f"{what}: all {len(checks)} checks met"
        return result
