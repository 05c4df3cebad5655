# Runbook Q.10: after opening, every application of the domain reaches KT 2.0.
# Documentation only: the action plugin of the same name (plugins/action/domain_reach.py) does the work.
from __future__ import annotations

DOCUMENTATION = r"""
module: domain_reach
short_description: Verify that every application of a domain gets a token and reads its data on KT 2.0
description:
  - As each application of the domain file (its own key for this environment, SMART backend services), asks
    a token and counts every resource type its role may read (FHIR C(_summary=count)). Fails naming the
    applications that cannot. Changes nothing.
extends_documentation_fragment: [kt2ops.platform.controller_action]
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  environment: {description: Environment id., type: str, required: true}
  environment_host: {description: Inventory host of the environment., type: str, required: true}
  pki_dir: {description: The control machine's PKI directory., type: path, required: true}
author: kt2ops
"""

EXAMPLES = r"""
- name: Every application of the domain reaches its data (runbook Q.10)
  kt2ops.platform.domain_reach:
    domain: jeugdzorg-delta
    environment: prd2
    environment_host: prd2.lab
    pki_dir: "{{ inventory_dir }}/.pki"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
checks:
  description: One line per application, met or unmet, with what it reached.
  returned: always
  type: list
  elements: str
"""
