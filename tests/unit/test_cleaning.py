"""B.3: a KT 1.3 export cleaned by declared rules, with a report of what each rule removed."""

import json

import pytest
from click.testing import CliRunner

from kt2ops.cli import main
from kt2ops.security.cleaning import CleaningError, clean, load_rules

RULES = """
rules:
  - {id: test-clients, description: Test clients, drop_messages: {patient_matches: "^Patient/test-"}}
  - {id: user-messages, description: Not migrated (DOMAIN.md), drop_messages: {events: [CreateOrUpdateUserMessage]}}
  - {id: history, drop_messages: {received_before: "2024-01-01"}}
  - {id: no-telecom, drop_fields: {resource_type: Patient, fields: [telecom]}}
"""


def _message(n, event="CreateOrUpdatePatient", patient="Patient/p-1", received="2025-05-01T10:00:00+00:00"):
    header = {"resourceType": "MessageHeader", "id": f"m{n}", "event": {"code": event},
              "patient": {"reference": patient}}
    resource = {"resourceType": "Patient", "id": patient.split("/")[1],
                "telecom": [{"system": "email", "value": f"client{n}@example.org"}]}
    return json.dumps({"seq": n, "id": f"m{n}", "event": event, "sender": "ecd", "status": "Success",
                       "received": received, "bundle": {"resourceType": "Bundle",
                                                        "entry": [{"resource": header}, {"resource": resource}]}})


EXPORT = [_message(1), _message(2, patient="Patient/test-9"), _message(3, event="CreateOrUpdateUserMessage"),
          _message(4, received="2023-12-31T23:00:00+00:00"), _message(5)]


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(RULES)
    return path


def test_rules_drop_messages_and_fields_and_report_by_id(rules):
    lines, reports = clean(EXPORT, load_rules(rules))
    kept = [json.loads(line) for line in lines]
    assert [m["id"] for m in kept] == ["m1", "m5"]
    assert all("telecom" not in m["bundle"]["entry"][1]["resource"] for m in kept)
    by_rule = {r.id: (r.messages_removed, r.fields_removed, r.sample) for r in reports}
    assert by_rule == {"test-clients": (1, 0, ["m2"]), "user-messages": (1, 0, ["m3"]), "history": (1, 0, ["m4"]),
                       "no-telecom": (0, 2, ["m1", "m5"])}


def test_cli_writes_the_export_and_a_report_without_personal_data(rules, tmp_path):
    export = tmp_path / "export.jsonl"
    export.write_text("\n".join(EXPORT) + "\n")
    result = CliRunner().invoke(main, ["package", "clean", str(export), "--rules", str(rules), "--out",
                                       str(tmp_path / "clean.jsonl"), "--report", str(tmp_path / "report.json")])
    assert result.exit_code == 0, result.output
    assert "kept 2 message(s)" in result.output and "no-telecom: 0 message(s) and 2 field(s)" in result.output
    report = (tmp_path / "report.json").read_text()
    assert json.loads(report)["kept"] == 2 and "example.org" not in report
    assert "example.org" not in (tmp_path / "clean.jsonl").read_text()


@pytest.mark.parametrize(("text", "where"), [
    ("rules: [{id: x}]", "rules.0"),
    ("rules: [{id: x, drop_fields: {resource_type: Patient, fields: [id]}}]", "rules.0.drop_fields.fields.0"),
    ("rules: [{id: x, drop_messages: {patient_matches: '('}}]", "rules.0.drop_messages.patient_matches"),
    ("rules: [{id: x, drop_messages: {events: [A]}}, {id: x, drop_messages: {events: [B]}}]", "ids must be unique"),
])
def test_bad_rules_name_the_field(tmp_path, text, where):
    path = tmp_path / "rules.yml"
    path.write_text(text)
    with pytest.raises(CleaningError, match=where.replace(".", r"\.")):
        load_rules(path)


def test_a_broken_export_line_is_named_and_leaves_no_output(rules, tmp_path):
    export = tmp_path / "export.jsonl"
    export.write_text(EXPORT[0] + "\n{not json\n")
    out = tmp_path / "clean.jsonl"
    result = CliRunner().invoke(main, ["package", "clean", str(export), "--rules", str(rules), "--out", str(out),
                                       "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 1 and "export.jsonl:2: not a KT 1.3 export message" in result.output
    assert not out.exists() and not (tmp_path / "clean.jsonl.partial").exists()
