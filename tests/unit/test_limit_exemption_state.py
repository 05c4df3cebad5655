"""Whether the runbook holds the ingress limit's exemption (P.8L) open, from the audit trail's step runs: the
state P.8 paces by and `kt2 comply` judges B.5L by."""

import pytest

from kt2ops.runbook.state import DomainState, StepRun


def _run(step: str, undo: bool = False, result: str = "ok", check_mode: bool = False) -> StepRun:
    return StepRun("r", step, undo, "d", "prd2", "op", "2026-12-07T10:00:00+00:00", check_mode, result=result)


@pytest.mark.parametrize(("runs", "held"), [
    ([], False),
    ([_run("P.8L")], True),
    ([_run("P.8L"), _run("P.8")], True),
    ([_run("P.8L", result="failed")], False),
    ([_run("P.8L"), _run("P.8L", undo=True)], False),
    ([_run("P.8L"), _run("Q.10")], False),
    ([_run("P.8L"), _run("R")], False),
    ([_run("P.8L"), _run("Q.10", check_mode=True)], True),  # a dry run ends nothing
    ([_run("P.8L"), _run("Q.10", result="failed")], True),
    ([_run("Q.10"), _run("P.8L")], True),  # opened again after an earlier window
])
def test_the_exemption_is_held_open_from_p8l_until_its_undo_q10_or_r(runs, held):
    assert DomainState("d", runs).exempt_from_limit() is held
