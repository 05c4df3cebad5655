# Runbook P.5: poll a domain's queue depth on KT 1.3 until it is empty, printing progress.
from __future__ import annotations

DOCUMENTATION = r"""
module: drain_wait
short_description: Wait, bounded and with progress, until a KT 1.3 domain's queues are empty
description:
  - Polls the KT 1.3 contract's C(depth) of a domain on the host until no message is queued (New) and
    none is in flight (Claimed), printing the depth per queue (sending application) at every poll.
  - Fails when C(timeout) seconds pass, with the depth per queue at that moment. Changes nothing.
options:
  url: {description: The contract's depth URL on the host., type: str, required: true}
  timeout: {description: Seconds to wait at most., type: int, default: 600}
  interval: {description: Seconds between polls., type: int, default: 2}
author: kt2ops
"""

import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from kt2ops.action_args import argument_spec
from kt2ops.lifeline import end_with_parent

display = Display()

ARGS = argument_spec(DOCUMENTATION)


def describe(depth):
    queues = ", ".join(f"{sender}: {q['queued']} queued/{q['in_flight']} in flight"
                       for sender, q in sorted(depth["queues"].items())) or "every queue empty"
    return f"{depth['domain']}: {depth['queued']} queued, {depth['in_flight']} in flight ({queues})"


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGS)
        end_with_parent()  # a killed ansible-playbook takes this long step with it
        started = time.monotonic()
        polls = 0
        while True:
            answer = self._execute_module(module_name="kt2ops.platform.service_contract",
                                          module_args={"url": args["url"]}, task_vars=task_vars)
            if answer.get("failed"):
                return {**result, "failed": True, "msg": answer.get("msg", "depth unavailable")}
            depth, polls = answer["json"], polls + 1
            waited = time.monotonic() - started
            display.display(f"  P.5 after {waited:5.1f}s: {describe(depth)}")
            if depth["queued"] == 0 and depth["in_flight"] == 0:
                return {**result, "changed": False, "depth": depth, "polls": polls, "waited_seconds": round(waited, 1),
                        "msg": f"drained after {waited:.1f}s: {describe(depth)}"}
            if waited + args["interval"] > args["timeout"]:
                return {**result, "failed": True, "depth": depth, "polls": polls,
                        "msg": f"not drained within {args['timeout']}s: {describe(depth)}"}
            time.sleep(args["interval"])
