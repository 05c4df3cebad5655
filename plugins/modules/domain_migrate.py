# Runbook P.8 (and M.2 on mgr2): validate the domain's KT 1.3 export and replay it into KT 2.0.
# Documentation only: the action plugin of the same name (plugins/action/domain_migrate.py) does the work.
from __future__ import annotations

DOCUMENTATION = r"""
module: domain_migrate
short_description: Validate a domain's KT 1.3 export and migrate it into a KT 2.0 environment
description:
  - Streams the domain's export from the KT 1.3 server (over SSH, from its loopback contract) to the control
    machine, checks it against the specification and on content (C(validation.json), C(validation.txt));
    a blocking finding fails the task and nothing is imported.
  - Replays it in reference order into the target's FHIR server in transaction Bundles of conditional
    creates, each application publishing what it sent to KT 1.3 with its own key (SMART backend services),
    each resource naming that application's Device as resource-origin (set by P.8 under the target's
    C(reference) transaction rules, stamped by the server under C(kt)); validation refuses an application whose
    role may not create what it sent. A checkpoint lets a killed run resume; a second run sends nothing
    (changed=false).
  - Requests are paced to the target's ingress limit (C(kt2_env.ingress_limit)) unless runbook step P.8L holds
    an exemption open for this machine; a refusal by the limiter (503) is waited out, never the end of the run.
    See C(kt2ops.migration).
  - Progress lines (per application and type, rate, ETA) are shown while it runs; the error list goes to C(errors.json).
extends_documentation_fragment: [kt2ops.platform.controller_action]
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  kt13_host: {description: Inventory host of the KT 1.3 server., type: str, required: true}
  target: {description: Target environment id., type: str, required: true}
  batch_size:
    description:
      - Resources per transaction Bundle; by default 50, or under the target's ingress limit (C(kt2_env.ingress_limit))
        enough per request that the limit does not hold the migration below what the server takes (140 at 5/s).
    type: int
  concurrency:
    description: Bundles in flight at once within a type; the types still go one after the other in reference order.
    type: int
    default: 4
author: kt2ops
"""

EXAMPLES = r"""
- name: Migrate a domain's KT 1.3 data to its production environment (runbook P.8)
  kt2ops.platform.domain_migrate:
    domain: jeugdzorg-delta
    kt13_host: kt13.lab
    target: prd2
    batch_size: 140
    concurrency: 4
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
summary:
  description: Figures of the migration (resources migrated and Bundles sent per type, errors and error rate,
    seconds, SHA-256 of the validation, error and migration reports).
  returned: success
  type: dict
kt2_artefacts:
  description: What the audit trail records of this step's result (hashes and figures, no secrets).
  returned: success
  type: dict
"""
