# Records a runbook decision in the audit trail.
# Documentation only: the action plugin of the same name (plugins/action/runbook_decision.py) does the work.
from __future__ import annotations

DOCUMENTATION = r"""
module: runbook_decision
short_description: Record a runbook decision (GO/NO-GO, confirmation) in the audit trail
description:
  - Appends the decision, who took it, in which role and why, to the domain's runbook audit trail
    (C(<inventory>/.runbook/audit.jsonl)), as C(kt2 runbook approve) does on the command line. The gates
    of the steps that need it (O checks 9 and 10; Q.9 and Q.10 need Q.7 GO and Q.8 signed) read it there.
  - In AWX this is the job template an approver runs before approving the workflow's approval node.
  - Refuses, recording nothing, an unknown decision, a value the decision does not take, a role that may
    not decide it, an empty name or reason, or a domain the inventory does not hold.
  - In check mode it validates the decision and records nothing.
extends_documentation_fragment: [kt2ops.platform.controller_action]
options:
  domain: {description: KT 2.0 domain id (the domain file's id)., type: str, required: true}
  decision: {description: "Decision id of the runbook (O.2, O.3, O.4, O.9, O.10, Q.7, Q.8).", type: str, required: true}
  value: {description: "GO, NO-GO, confirmed or signed, as the decision takes.", type: str, required: true}
  by: {description: Who decided (a named person)., type: str, required: true}
  role: {description: "Their role, e.g. care_provider, it_supplier, kt2_support.", type: str, required: true}
  reason: {description: Why; what the decision rests on., type: str, required: true}
author: kt2ops
"""

EXAMPLES = r"""
- name: The care provider orders the migration (O.10)
  kt2ops.platform.runbook_decision:
    domain: ggz-noorderlicht
    decision: O.10
    value: GO
    by: A. de Vries
    role: care_provider
    reason: Order signed by the board on 2 December
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
seq:
  description: The audit record's sequence number; null in check mode.
  returned: always
  type: int
  sample: 42
"""
