"""The audit trail: hash-chained, tamper-evident, secret-free."""

import json

import pytest

from kt2ops.runbook.audit import AuditLog


@pytest.fixture
def log(tmp_path):
    trail = AuditLog(tmp_path / "audit.jsonl")
    for n in range(1, 6):
        trail.append({"type": "step.start", "domain": "d", "step": f"P.{n}"})
    return trail


def _lines(log):
    return log.path.read_text().splitlines()


def _write(log, lines):
    log.path.write_text("\n".join(lines) + "\n")


def test_intact_chain_verifies(log):
    assert log.verify() == (5, [])
    assert [r["seq"] for r in log.records()] == [1, 2, 3, 4, 5]


def test_an_edited_record_is_named(log):
    lines = _lines(log)
    record = json.loads(lines[2])
    record["step"] = "P.9"
    lines[2] = json.dumps(record, sort_keys=True)
    _write(log, lines)
    _, breaks = log.verify()
    assert breaks and breaks[0].seq == 3 and "content changed" in breaks[0].reason


def test_a_removed_record_is_named(log):
    lines = _lines(log)
    del lines[1]
    _write(log, lines)
    _, breaks = log.verify()
    assert breaks[0].seq == 3 and "expected seq 2" in breaks[0].reason


def test_reordered_records_are_named(log):
    lines = _lines(log)
    lines[1], lines[2] = lines[2], lines[1]
    _write(log, lines)
    _, breaks = log.verify()
    assert breaks[0].line == 2 and breaks[0].seq == 3


def test_records_cut_off_the_end_show(log):
    _write(log, _lines(log)[:-2])
    _, breaks = log.verify()
    assert breaks and "cut off the end" in breaks[-1].reason


def test_secrets_never_reach_the_trail(tmp_path):
    trail = AuditLog(tmp_path / "audit.jsonl")
    # Values that cannot occur in the record's hex digests by chance ("abc" turned up in a SHA-256 once).
    trail.append({"type": "step.start", "inputs": {"kt2_db_password": "hunter2", "api_token": "tok-qwerty",
                                                   "nested": {"private_key": "xyz"}, "kt2_domain": "d"}})
    text = trail.path.read_text()
    assert "hunter2" not in text and "tok-qwerty" not in text and "xyz" not in text
    assert json.loads(text)["inputs"]["kt2_domain"] == "d"
