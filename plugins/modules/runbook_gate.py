# The first task of every runbook step: may this step run for this domain now?
# Documentation only: the action plugin of the same name (plugins/action/runbook_gate.py) does the work.
from __future__ import annotations

DOCUMENTATION = r"""
module: runbook_gate
short_description: Refuse a runbook step whose preconditions or maintenance window are not met
description:
  - Replays the domain's runbook state from the audit trail (C(<inventory>/.runbook/audit.jsonl)) and
    refuses the step, with every reason, when a step it needs is not done (e.g. P.3 before the O gate),
    when the O checklist (checks 1-10) is not met, or when the step disrupts a production environment
    outside its maintenance window (C(kt2_maintenance)) and no emergency reason is given.
  - Changes nothing; runs in check mode too. Returns the domain's facts the step's tasks need.
  - Runbook steps run it through C(playbooks/runbook/gate.yml), which publishes the target and trial
    environments it decides as the groups C(runbook_target) and C(runbook_trial) for the step's plays.
extends_documentation_fragment: [kt2ops.platform.controller_action]
options:
  step: {description: "Runbook step id (L.1, O, P.3, ...).", type: str, required: true}
  domain: {description: KT 2.0 domain id (the domain file's id)., type: str, required: true}
  undo: {description: Whether this run undoes the step (rollback R)., type: bool, default: false}
  target: {description: The KT 2.0 environment migrated to; default the domain's production environment., type: str}
  emergency_reason: {description: Why a production step runs outside a window (recorded)., type: str, default: ""}
  announce_days: {description: Days the migration must be announced ahead (O check 7)., type: int, default: 14}
author: kt2ops
"""

EXAMPLES = r"""
- name: May this runbook step run for this domain now?
  kt2ops.platform.runbook_gate:
    step: P.3
    domain: jeugdzorg-delta
    emergency_reason: ""
  register: kt2_gate
  run_once: true
  delegate_to: localhost

- name: Undo a step during rollback R, outside the window, with the reason on record
  kt2ops.platform.runbook_gate:
    step: P.4
    domain: jeugdzorg-delta
    undo: true
    emergency_reason: rollback decided in the go/no-go meeting
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
step:
  description: The step's id as the runbook names it.
  returned: always
  type: str
  sample: P.3
target:
  description: The KT 2.0 environment the step acts on.
  returned: always
  type: str
  sample: prd2
trial:
  description: The domain's trial-migration environment (data class production_copy), if it has one.
  returned: always
  type: str
  sample: mgr2
notes:
  description: Why the step may run (window, emergency reason).
  returned: always
  type: list
  elements: str
checklist:
  description: The O checklist, one line per check, met or unmet with its reason.
  returned: always
  type: list
  elements: str
domain:
  description: What the step's tasks need of the domain (id, KT 1.3 name, applications, switch paths,
    trigger functions to switch off).
  returned: always
  type: dict
"""
