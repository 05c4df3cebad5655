"""The runbook gate: preconditions, the O checklist and maintenance windows, judged from recorded state."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kt2ops.runbook.audit import AuditLog
from kt2ops.runbook.gate import evaluate
from kt2ops.runbook.model import RunbookContext
from kt2ops.runbook.state import domain_state

AMS = ZoneInfo("Europe/Amsterdam")
IN_WINDOW = datetime(2027, 3, 17, 19, 0, tzinfo=AMS)  # third Wednesday, after 18:00
OUTSIDE = datetime(2027, 3, 18, 19, 0, tzinfo=AMS)
DOMAIN = {"domain": {"id": "d", "environments": ["prd2"]}, "kt13": {"domain": "D"}, "applications": [],
          "migration": {"planned": {"start": "2027-03-17T18:30:00+01:00", "announced": "2027-02-24"}},
          "contacts": [{"name": "desk", "party": "kt2_support", "email": "s@example.org"}]}


def _ctx(domain=DOMAIN):
    return RunbookContext(Path("inv"), domain, "prd2", {"prd2": {"id": "prd2", "data_class": "production"}},
                          {"prd2": {"windows": [{"every": "month", "weekday": "wednesday", "nth": 3,
                                                  "from": "18:00", "to": "23:00"}]}})


@pytest.fixture
def log(tmp_path):
    return AuditLog(tmp_path / "audit.jsonl")


def _ran(log, step, result="ok", undo=False, artefacts=None):
    run = f"{step}-{undo}-{len(list(log.records()))}"
    log.append({"type": "step.start", "run": run, "step": step, "undo": undo, "domain": "d"})
    log.append({"type": "step.end", "run": run, "step": step, "undo": undo, "domain": "d", "result": result,
                "artefacts": artefacts or {}})


def _decide(log, decision, value, role="care_provider"):
    log.append({"type": "decision", "domain": "d", "decision": decision, "value": value, "by": "A. de Vries",
                "role": role, "reason": "ok"})


def _ready_for_o(log):
    _ran(log, "L.1")
    _ran(log, "L.2", artefacts={"backup": "L.2-x", "restore_test": "identical"})
    for decision in ("O.2", "O.3", "O.4"):
        _decide(log, decision, "confirmed")
    _decide(log, "O.9", "GO")
    _decide(log, "O.10", "GO")


def test_p3_is_refused_before_the_go_and_names_what_is_missing(log):
    verdict = evaluate(_ctx(), domain_state(log, "d"), "P.3", False, IN_WINDOW)
    assert not verdict.ok
    assert any("needs O done first" in r for r in verdict.refusals)


def test_o_passes_when_every_check_is_met(log):
    _ready_for_o(log)
    verdict = evaluate(_ctx(), domain_state(log, "d"), "O", False, OUTSIDE)
    assert verdict.ok, verdict.refusals
    assert len(verdict.checklist) == 10 and all(c.met for c in verdict.checklist)


def test_o_go_by_someone_else_than_the_care_provider_is_unmet(log):
    _ready_for_o(log)
    _decide(log, "O.10", "GO", role="it_supplier")
    verdict = evaluate(_ctx(), domain_state(log, "d"), "O", False, OUTSIDE)
    assert [r for r in verdict.refusals if r.startswith("O.10")] and "care_provider" in verdict.refusals[0]


def test_a_later_no_go_withdraws_the_go(log):
    _ready_for_o(log)
    _decide(log, "O.9", "NO-GO")
    assert any(r.startswith("O.9") for r in evaluate(_ctx(), domain_state(log, "d"), "O", False, OUTSIDE).refusals)


def test_o_needs_the_announcement_14_days_ahead_and_a_start_in_a_window(log):
    _ready_for_o(log)
    late = {**DOMAIN, "migration": {"planned": {"start": "2027-03-17T18:30:00+01:00", "announced": "2027-03-10"}}}
    refusals = evaluate(_ctx(late), domain_state(log, "d"), "O", False, OUTSIDE).refusals
    assert any("O.7" in r and "7 day(s)" in r for r in refusals)
    off = {**DOMAIN, "migration": {"planned": {"start": "2027-03-18T18:30:00+01:00", "announced": "2027-02-24"}}}
    refusals = evaluate(_ctx(off), domain_state(log, "d"), "O", False, OUTSIDE).refusals
    assert any("outside every maintenance window" in r for r in refusals)


def test_o_needs_a_restore_tested_backup(log):
    _ready_for_o(log)
    _ran(log, "L.2", artefacts={"backup": "L.2-y", "restore_test": "failed"})
    assert any(r.startswith("O.5") for r in evaluate(_ctx(), domain_state(log, "d"), "O", False, OUTSIDE).refusals)


def test_production_step_outside_a_window_is_refused_unless_an_emergency_reason_is_given(log):
    _ready_for_o(log)
    _ran(log, "O")
    state = domain_state(log, "d")
    outside = evaluate(_ctx(), state, "P.3", False, OUTSIDE)
    assert not outside.ok and "outside every maintenance window" in outside.refusals[0]
    assert "next window 2027-04-21 18:00" in outside.refusals[0]
    assert evaluate(_ctx(), state, "P.3", False, IN_WINDOW).ok
    emergency = evaluate(_ctx(), state, "P.3", False, OUTSIDE, emergency_reason="outage at the provider")
    assert emergency.ok and "emergency override" in emergency.notes[0]


def test_undo_is_always_allowed_and_makes_the_step_not_done(log):
    _ready_for_o(log)
    _ran(log, "O")
    _ran(log, "P.3")
    assert domain_state(log, "d").status("P.3") == "done"
    assert evaluate(_ctx(), domain_state(log, "d"), "P.3", True, IN_WINDOW).ok
    _ran(log, "P.3", undo=True)
    state = domain_state(log, "d")
    assert state.status("P.3") == "undone"
    assert any("needs P.3 done" in r for r in evaluate(_ctx(), state, "P.4", False, IN_WINDOW).refusals)


def test_a_run_without_end_record_is_interrupted(log):
    log.append({"type": "step.start", "run": "r1", "step": "L.1", "domain": "d"})
    assert domain_state(log, "d").status("L.1") == "interrupted"
    _ran(log, "L.1")
    assert domain_state(log, "d").status("L.1") == "done"


def test_opening_production_needs_go_and_the_signed_self_declaration(log):
    _ran(log, "Q")
    _ran(log, "Q.9")
    refused = evaluate(_ctx(), domain_state(log, "d"), "Q.10", False, IN_WINDOW)
    assert [r for r in refused.refusals if r.startswith("Q.10 needs Q.7")]
    assert [r for r in refused.refusals if r.startswith("Q.10 needs Q.8")]
    _decide(log, "Q.7", "GO")
    _decide(log, "Q.8", "signed", role="it_supplier")
    wrong_party = evaluate(_ctx(), domain_state(log, "d"), "Q.10", False, IN_WINDOW)
    [refusal] = wrong_party.refusals
    assert refusal.startswith("Q.10 needs Q.8") and "but Q.8 must be decided by care_provider" in refusal
    _decide(log, "Q.8", "signed")
    assert evaluate(_ctx(), domain_state(log, "d"), "Q.10", False, IN_WINDOW).ok


def test_a_no_go_at_q7_keeps_the_trigger_functions_off_but_allows_rollback(log):
    _ran(log, "P.2")
    _ran(log, "Q")
    _decide(log, "Q.7", "NO-GO")
    assert not evaluate(_ctx(), domain_state(log, "d"), "Q.9", False, IN_WINDOW).ok
    assert evaluate(_ctx(), domain_state(log, "d"), "R", False, OUTSIDE).ok  # rollback needs no window


def test_a_trial_step_is_refused_where_no_environment_holds_a_copy_of_production(log):
    """M.2 and M.5 run on the trial environment: without one, their plays would run on no host and be recorded
    as done. With mgr2 (production_copy) among the domain's environments, the same step may run."""
    refused = evaluate(_ctx(), domain_state(log, "d"), "M.2", False, IN_WINDOW)
    assert refused.refusals == ["M.2 runs on the domain's trial environment, and none of its environments (prd2) "
                                "holds a copy of production (data_class production_copy)"]
    domain = {**DOMAIN, "domain": {"id": "d", "environments": ["mgr2", "prd2"]}}
    ctx = RunbookContext(Path("inv"), domain, "prd2", {"prd2": {"id": "prd2", "data_class": "production"},
                                                       "mgr2": {"id": "mgr2", "data_class": "production_copy"}},
                         {"prd2": {"windows": [{"every": "month", "weekday": "wednesday", "nth": 3,
                                                "from": "18:00", "to": "23:00"}]}})
    assert ctx.trial == "mgr2"
    assert evaluate(ctx, domain_state(log, "d"), "M.2", False, IN_WINDOW).ok

