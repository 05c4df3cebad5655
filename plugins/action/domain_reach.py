# Runbook Q.10: after opening, every application of the domain reaches KT 2.0.
from __future__ import annotations

DOCUMENTATION = r"""
module: domain_reach
short_description: Verify that every application of a domain gets a token and reads its data on KT 2.0
description:
  - As each application of the domain file (its own key for this environment, SMART backend services), asks
    a token and counts every resource type its role may read (FHIR C(_summary=count)). Fails naming the
    applications that cannot. Changes nothing.
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  environment: {description: Environment id., type: str, required: true}
  environment_host: {description: Inventory host of the environment., type: str, required: true}
  pki_dir: {description: The control machine's PKI directory., type: path, required: true}
author: kt2ops
"""

from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from kt2ops.action_args import argument_spec
from kt2ops.migration.step import applications_reach, target_of
from kt2ops.runbook.context import RunbookError, load_domain

ARGS = argument_spec(DOCUMENTATION)


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGS)
        try:
            doc = load_domain(Path(task_vars["inventory_dir"]), args["domain"])
        except RunbookError as exc:
            raise AnsibleActionFail(str(exc)) from exc
        target = target_of(task_vars["hostvars"][args["environment_host"]], args["environment"], Path(args["pki_dir"]))
        checks = applications_reach(target, doc)
        result.update(changed=False, checks=[c.line() for c in checks])
        unmet = [c.line() for c in checks if not c.met]
        if unmet:
            result.update(failed=True, msg="; ".join(unmet))
        else:
            result["msg"] = f"every application of {args['domain']} reaches {args['environment']}"
        return result
