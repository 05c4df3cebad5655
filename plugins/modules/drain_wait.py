# Runbook P.5: poll a domain's queue depth on KT 1.3 until it is empty, printing progress.
# Documentation only: the action plugin of the same name (plugins/action/drain_wait.py) does the work.
from __future__ import annotations

DOCUMENTATION = r"""
module: drain_wait
short_description: Wait, bounded and with progress, until a KT 1.3 domain's queues are empty
description:
  - Polls the KT 1.3 contract's C(depth) of a domain on the host until no message is queued (New) and
    none is in flight (Claimed), printing the depth per queue (sending application) at every poll.
  - Fails when C(timeout) seconds pass, with the depth per queue at that moment. Changes nothing.
extends_documentation_fragment: [kt2ops.platform.controller_action]
options:
  url: {description: The contract's depth URL on the host., type: str, required: true}
  timeout: {description: Seconds to wait at most., type: int, default: 600}
  interval: {description: Seconds between polls., type: int, default: 2}
author: kt2ops
"""

EXAMPLES = r"""
- name: Wait until the domain's queues on KT 1.3 are empty (runbook P.5)
  kt2ops.platform.drain_wait:
    url: "{{ 'kt13_server' | kt2ops.platform.contract_url }}/domains/JZDELTA/depth"
    timeout: 600
    interval: 2
"""

RETURN = r"""
depth:
  description: The depth at the last poll (queued and in flight, in all and per sending application).
  returned: always
  type: dict
polls:
  description: How many times the depth was read.
  returned: always
  type: int
waited_seconds:
  description: Seconds until the queues were empty.
  returned: success
  type: float
"""
