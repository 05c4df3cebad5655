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
extends_documentation_fragment: [kt2ops.platform.controller_action, kt2ops.platform.environment_domain]
author: kt2ops
"""

EXAMPLES = r"""
- name: Every application of the domain reaches its data (runbook Q.10)
  kt2ops.platform.domain_reach:
    domain: jeugdzorg-delta
    environment: prd2
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
