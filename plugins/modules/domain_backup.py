# Runbook L.2 / P.2 (appendix B.7): a restore-tested, encrypted backup of all of a domain's data.
# Documentation only: the action plugin of the same name (plugins/action/domain_backup.py) does the work.
from __future__ import annotations

DOCUMENTATION = r"""
module: domain_backup
short_description: Back up a domain's data, streamed and encrypted, and prove it restores
description:
  - Streams every part of the domain (KT 1.3 domain and messages, the KT 2.0 domain and resources on the
    target environment, the applications' files) from its host over SSH into age encryption on the
    control machine, with a SHA-256 manifest; then restores each table into a scratch database on its
    host and requires the restored data to hash the same. See C(kt2ops.runbook.backup).
  - Unchanged (changed=false) when the newest backup of the same step still matches the data exactly.
  - In check mode, reports whether a backup would be made, comparing hashes computed on the hosts.
extends_documentation_fragment: [kt2ops.platform.controller_action]
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  kt13_domain: {description: The domain's KT 1.3 name., type: str, required: true}
  step: {description: Runbook step making the backup (L.2 or P.2)., type: str, required: true}
  kt13_host: {description: Inventory host of the KT 1.3 server., type: str, required: true}
  target:
    description:
      - The target KT 2.0 environment id, its data backed up too. The databases are the hosts'
        (kt13_server_database, kt2_fhir_server_database; defaults in kt2ops.layout).
    type: str
  dest: {description: Directory of the backups on the control machine., type: path, required: true}
  key_dir: {description: "Directory of the backups' keys, apart from the backups.", type: path, required: true}
author: kt2ops
"""

EXAMPLES = r"""
- name: Back up a domain's KT 1.3 and KT 2.0 data, encrypted, with a restore test (runbook P.2)
  kt2ops.platform.domain_backup:
    domain: jeugdzorg-delta
    kt13_domain: JZDELTA
    step: P.2
    kt13_host: kt13.lab
    target: prd2
    dest: "{{ inventory_dir }}/.runbook/backups"
    key_dir: "{{ inventory_dir }}/.runbook/keys"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
manifest:
  description: The backup's manifest (name, parts with rows and SHA-256 of plain and encrypted stream, hash total,
    restore test result, key file).
  returned: success
  type: dict
kt2_artefacts:
  description: What the audit trail records of this step's result (hashes and figures, no secrets).
  returned: success
  type: dict
"""
