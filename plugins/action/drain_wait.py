# Runbook P.5: poll a domain's queue depth on KT 1.3 until it is empty, printing progress.
from __future__ import annotations

import time

from ansible.utils.display import Display
from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

display = Display()


def describe(depth):
    queues = ", ".join(f"{sender}: {q['queued']} queued/{q['in_flight']} in flight"
                       for sender, q in sorted(depth["queues"].items())) or "every queue empty"
    return f"{depth['domain']}: {depth['queued']} queued, {depth['in_flight']} in flight ({queues})"


class ActionModule(Kt2Action):
    def act(self, args, task_vars, result):
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
