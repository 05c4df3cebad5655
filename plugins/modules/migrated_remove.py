# Rollback R, M.5 and S.1: remove a domain's migrated content from a KT 2.0 environment, verified.
# Documentation only: the action plugin of the same name (plugins/action/migrated_remove.py) does the work.
from __future__ import annotations

DOCUMENTATION = r"""
module: migrated_remove
short_description: Remove every migrated resource of a domain from a KT 2.0 environment, and verify
description:
  - Deletes, through FHIR as the domain admin (all rights, served while the domain is closed), every
    resource that carries the migration identifier (dependents first, in transaction Bundles), then counts
    again with C(_summary=count); any left fails the task. Also removes, on the control machine, the
    migration's checkpoint for that environment (so a later P.8 starts anew) and C(source-facts.sqlite), the
    KT 1.3 facts Q.2 compares (names and birth dates, personal data).
  - Unchanged when nothing migrated is there and neither file is. In check mode, counts what would be
    removed.
extends_documentation_fragment: [kt2ops.platform.controller_action, kt2ops.platform.environment_domain]
author: kt2ops
"""

EXAMPLES = r"""
- name: Remove the migrated content of a domain and verify none is left (rollback R, S.1)
  kt2ops.platform.migrated_remove:
    domain: jeugdzorg-delta
    environment: prd2
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
counts:
  description: Resources there per type before removal (check mode, or nothing there).
  returned: when nothing is removed
  type: dict
removed:
  description: Resources removed per type.
  returned: changed
  type: dict
kt2_artefacts:
  description: What the audit trail records of this step's result (hashes and figures, no secrets).
  returned: success
  type: dict
"""
