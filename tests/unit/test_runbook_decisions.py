"""Recording a runbook decision: what the catalogue allows is recorded with who launched it (AWX's user when
AWX runs the job), anything else is refused naming the input, and nothing is written then."""

import pytest

from kt2ops.runbook.decisions import DecisionError, record_decision
from kt2ops.runbook.state import audit_log

GOOD = {"domain_id": "ggz-noorderlicht", "decision_id": "O.10", "value": "GO", "by": "A. de Vries",
        "role": "care_provider", "reason": "order signed"}


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"decision_id": "O.99"}, "decision", "unknown decision 'O.99'"),
    ({"value": "maybe"}, "value", "O.10 takes GO or NO-GO"),
    ({"role": "it_supplier"}, "role", "O.10 is decided by care_provider"),
    ({"by": " "}, "by", "must not be empty"),
    ({"reason": ""}, "reason", "must not be empty"),
])
def test_a_wrong_decision_is_refused_naming_the_input_and_nothing_is_written(tmp_path, change, field, message):
    with pytest.raises(DecisionError, match=message) as refused:
        record_decision(tmp_path, **{**GOOD, **change})
    assert refused.value.field == field
    assert list(audit_log(tmp_path).records()) == []


def test_the_decision_is_recorded_with_the_awx_user_who_launched_it(tmp_path, monkeypatch):
    monkeypatch.delenv("KT2OPS_OPERATOR", raising=False)
    record_decision(tmp_path, **GOOD, awx_user="jjansen")
    (record,) = audit_log(tmp_path).records()
    assert (record["decision"], record["value"], record["by"], record["operator"]) == (
        "O.10", "GO", "A. de Vries", "jjansen (AWX)")


def test_a_named_operator_wins_over_the_awx_user(tmp_path, monkeypatch):
    monkeypatch.setenv("KT2OPS_OPERATOR", "P. Pietersen")
    record_decision(tmp_path, **GOOD, awx_user="jjansen")
    assert next(iter(audit_log(tmp_path).records()))["operator"] == "P. Pietersen"
