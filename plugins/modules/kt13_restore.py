# Rollback R: KT 1.3 as it was at the P.2 backup, verified by its hashes.
# Documentation only: the action plugin of the same name (plugins/action/kt13_restore.py) does the work.
from __future__ import annotations

DOCUMENTATION = r"""
module: kt13_restore
short_description: Verify the domain's KT 1.3 data against the P.2 backup, restoring it when it changed
description:
  - Computes on the KT 1.3 host the SHA-256 of the domain's rows (domain and messages) and compares them with
    the newest P.2 backup's manifest. Equal - nothing to do. Different - the backup's rows are decrypted
    straight into the database (the domain row, then its messages) and compared again; they must be equal.
  - Only while the domain is still stopped on KT 1.3 (frozen, inbound closed, as when P.2 was made); once it
    runs again (after a finished rollback) its new data is never overwritten, and the task is unchanged.
extends_documentation_fragment: [kt2ops.platform.controller_action]
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  kt13_domain: {description: The domain's KT 1.3 name., type: str, required: true}
  kt13_host: {description: Inventory host of the KT 1.3 server., type: str, required: true}
  backups: {description: Directory of the backups on the control machine., type: path, required: true}
author: kt2ops
"""

EXAMPLES = r"""
- name: KT 1.3 as the P.2 backup holds it, restored when it changed (rollback R)
  kt2ops.platform.kt13_restore:
    domain: jeugdzorg-delta
    kt13_domain: JZDELTA
    kt13_host: kt13.lab
    backups: "{{ inventory_dir }}/.runbook/backups"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
kt2_artefacts:
  description: What the audit trail records of this step's result (hashes and figures, no secrets).
  returned: success
  type: dict
"""
