# Before a run changes anything: every vault-encrypted secret of the inventory opens with its password.
# Documentation only: the action plugin of the same name (plugins/action/vault_open.py) does the work.
from __future__ import annotations

DOCUMENTATION = r"""
module: vault_open
short_description: Check that every vault-encrypted secret of an inventory opens with the run's password
description:
  - Opens, in memory, every vault-encrypted file where kt2ops keeps secrets beside the inventory (C(.pki),
    C(.runbook/keys), C(.lab)) with the vault password of this run, and fails naming each file that does
    not open (a wrong password, or a file encrypted with another). Every kt2ops playbook runs it first
    (playbooks/vault_open.yml), so that a wrong password stops the run before anything changes.
  - A missing password source stops ansible-playbook itself before the first play.
options:
  inventory: {description: The inventory directory., type: path, required: true}
extends_documentation_fragment: [kt2ops.platform.controller_secrets]
author: kt2ops
attributes:
  check_mode: {support: full, description: Only reads; the same in check mode.}
"""

EXAMPLES = r"""
- name: Every secret of the inventory opens with this run's vault password
  kt2ops.platform.vault_open:
    inventory: "{{ inventory_dir }}"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
opened: {description: How many vault-encrypted secrets opened., returned: always, type: int}
refused: {description: Why each file that did not open was refused., returned: failed, type: list, elements: str}
"""
