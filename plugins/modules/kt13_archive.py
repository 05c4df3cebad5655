# Runbook S.4 (archive) and the check S.5 makes before removing the KT 1.3 domain.
# Documentation only: the action plugin of the same name (plugins/action/kt13_archive.py) does the work.
from __future__ import annotations

DOCUMENTATION = r"""
module: kt13_archive
short_description: Archive a domain's KT 1.3 messages (compressed, hashed, encrypted) or verify the archive
description:
  - C(mode=archive) (S.4) streams the domain's messages from the KT 1.3 server, gzips them and seals them in a
    data package (age, SHA-256 manifest; the key apart in C(<keys>/<domain>/S4-archive.key)), then opens the
    package again and requires the decompressed content to hash as the export did. Unchanged when a verified
    archive of exactly the current data exists.
  - C(mode=verify) (before S.5) re-verifies the archive and requires KT 1.3 to still hold exactly what it holds;
    fails otherwise, so nothing is removed without a proven archive.
extends_documentation_fragment: [kt2ops.platform.controller_action]
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  kt13_domain: {description: The domain's KT 1.3 name., type: str, required: true}
  kt13_host: {description: Inventory host of the KT 1.3 server., type: str, required: true}
  archives: {description: Directory of the archives on the control machine., type: path, required: true}
  key_dir: {description: "Directory of their keys, apart from the archives.", type: path, required: true}
  mode: {description: archive or verify., type: str, default: archive, choices: [archive, verify]}
author: kt2ops
"""

EXAMPLES = r"""
- name: Archive the domain's KT 1.3 messages, encrypted and verified (runbook S.4)
  kt2ops.platform.kt13_archive:
    domain: jeugdzorg-delta
    kt13_domain: JZDELTA
    kt13_host: kt13.lab
    archives: "{{ inventory_dir }}/.runbook/archives"
    key_dir: "{{ inventory_dir }}/.runbook/keys"
  run_once: true
  delegate_to: localhost

- name: Before removing the domain from KT 1.3, the archive must still match it (runbook S.5)
  kt2ops.platform.kt13_archive:
    domain: jeugdzorg-delta
    kt13_domain: JZDELTA
    kt13_host: kt13.lab
    archives: "{{ inventory_dir }}/.runbook/archives"
    key_dir: "{{ inventory_dir }}/.runbook/keys"
    mode: verify
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
archive:
  description: The archive record (package, rows, SHA-256 of the decompressed export and of the encrypted file).
  returned: success
  type: dict
kt2_artefacts:
  description: What the audit trail records of this step's result (hashes and figures, no secrets).
  returned: success
  type: dict
"""
