# Runbook M.2: the trial migration on mgr2 with a cleaned, encrypted, hash-verified copy of production data.
# Documentation only: the action plugin of the same name (plugins/action/trial_migration.py) does the work.
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
    and an estimate of the production run from the domain's expected counts (K.3), at the rate production's
    ingress limit lets through (C(estimated_production_seconds)) and with runbook P.8L's exemption
    (C(estimated_production_seconds_exempt)).
extends_documentation_fragment: [kt2ops.platform.controller_action]
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  phase: {description: deliver or migrate., type: str, required: true, choices: [deliver, migrate]}
  kt13_host: {description: Inventory host of the KT 1.3 server., type: str}
  environment: {description: Trial environment id., type: str, required: true}
  rules: {description: Cleaning rules file (deliver)., type: path}
  batch_size:
    description:
      - Resources per transaction Bundle; by default 50, or under the target's ingress limit (C(kt2_env.ingress_limit))
        enough per request that the limit does not hold the migration below what the server takes (140 at 5/s).
    type: int
author: kt2ops
"""

EXAMPLES = r"""
- name: Clean, seal and deliver the trial data package to mgr2 (runbook M.2, B.1, B.2)
  kt2ops.platform.trial_migration:
    domain: jeugdzorg-delta
    phase: deliver
    kt13_host: kt13.lab
    environment: mgr2
    rules: "{{ inventory_dir }}/cleaning/trial.yml"
  run_once: true
  delegate_to: localhost

- name: Migrate the delivered package on mgr2 and estimate production's duration
  kt2ops.platform.trial_migration:
    domain: jeugdzorg-delta
    phase: migrate
    environment: mgr2
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
delivery:
  description: The sealed package, its manifest and what the cleaning rules removed.
  returned: phase is deliver
  type: dict
report:
  description: The trial's figures (migrated per type, error rate, seconds, production estimate for K.3).
  returned: phase is migrate
  type: dict
kt2_artefacts:
  description: What the audit trail records of this step's result (hashes and figures, no secrets).
  returned: success
  type: dict
"""
