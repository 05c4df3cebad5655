# Runbook Q: the post-migration quality gate's checks on the migrated data.
# Documentation only: the action plugin of the same name (plugins/action/migration_gate.py) does the work.
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
extends_documentation_fragment: [kt2ops.platform.controller_action]
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  target: {description: Target environment id., type: str, required: true}
  load_seconds: {description: Duration of the capacity check's load., type: float, default: 10}
  p95_limit_ms: {description: Highest acceptable p95 latency under the peak load., type: float, default: 500}
  load_attempts:
    description: "Capacity measurements at most: the check is met by the first attempt that meets it (a single
      stall of the host does not fail the gate; a target that cannot carry the peak fails every attempt)."
    type: int
    default: 2
author: kt2ops
"""

EXAMPLES = r"""
- name: The Q gate's read-only checks (counts, hash totals, samples, capacity)
  kt2ops.platform.migration_gate:
    domain: jeugdzorg-delta
    target: prd2
    load_seconds: 10
    p95_limit_ms: 500
    load_attempts: 2
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
checks:
  description: One line per Q check (Q.1 .. Q.4), met or unmet, with its figures; also written to q-gate.json.
  returned: always
  type: list
  elements: str
kt2_artefacts:
  description: What the audit trail records of this step's result (hashes and figures, no secrets).
  returned: success
  type: dict
"""
