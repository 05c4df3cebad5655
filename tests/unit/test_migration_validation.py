"""Validation and staging of a KT 1.3 export (no hosts): specification and content findings, blocking
or not, the folding of messages into the latest state, and the K.1/K.2 scope."""

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from kt2ops.migration.mapping import to_fhir
from kt2ops.migration.migrate import Checkpoint, Migration
from kt2ops.migration.p8 import ValidationFailed, validate
from kt2ops.migration.profile_check import check_profiles, check_publishers
from kt2ops.migration.profiles import COD472, ENDPOINT_EXTENSION, declared, violations
from kt2ops.migration.stage import Staging
from kt2ops.migration.totals import Totals

REFERENCE = datetime(2026, 11, 23, tzinfo=UTC)
KT13 = "https://kt13.example/TEST/FHIR/Koppeltaal"  # the domain's FHIR base on KT 1.3
SCOPE = {"dossiers": "open_and_closed", "history_months": {"default": 24}}
EVENTS = {"Patient": "CreateOrUpdatePatient", "Practitioner": "CreateOrUpdatePractitioner",
          "RelatedPerson": "CreateOrUpdateRelatedPerson", "CareTeam": "CreateOrUpdateCareTeam",
          "ActivityDefinition": "CreateOrUpdateActivityDefinition",
          "CarePlan": "CreateOrUpdateCarePlan", "CarePlanActivityStatus": "UpdateCarePlanActivityStatus",
          "UserMessage": "CreateOrUpdateUserMessage"}


class Export:
    def __init__(self, sender="ecd"):
        self.lines: list[str] = []
        self.sender = sender  # who sent a message unless it says

    def add(self, resource, when="2026-06-01T10:00:00+00:00", sender=None, status="Success", event=None):
        sender = sender or self.sender
        seq = len(self.lines) + 1
        header = {"resourceType": "MessageHeader", "id": f"00000000-0000-4000-8000-{seq:012d}", "timestamp": when,
                  "event": {"code": event or EVENTS[resource["resourceType"]]}}
        self.lines.append(json.dumps({"seq": seq, "id": header["id"], "event": header["event"]["code"],
                                      "sender": sender, "status": status, "received": when,
                                      "bundle": {"resourceType": "Bundle", "type": "message",
                                                 "entry": [{"resource": header}, {"resource": resource}]}}))
        return header["id"]

    def write(self, path):
        path.write_text("\n".join(self.lines) + "\n")
        return path


def patient(n, **extra):
    return {"resourceType": "Patient", "id": f"p{n}", "identifier": [{"system": "urn:test", "value": f"c{n}"}],
            "name": [{"use": "official", "family": f"Test{n}", "given": ["Ann"]}], "gender": "female",
            "birthDate": "1980-02-03", **extra}


def related_person(n, **extra):
    return {"resourceType": "RelatedPerson", "id": f"rp{n}", "identifier": [{"system": "urn:test", "value": f"r{n}"}],
            "patient": {"reference": "Patient/p1"}, "name": [{"use": "official", "family": "Naaste"}],
            "gender": "male", "birthDate": "1970-01-01",
            "relationship": [{"coding": [{"system": COD472, "code": "23", "display": "Contactpersoon"}]}], **extra}


def base_export(sender="ecd", offered_by=None):
    """A small export sent by `sender`; the activity definition by `offered_by` (else the sender too)."""
    export = Export(sender)
    export.add({"resourceType": "Practitioner", "id": "pr1", "name": [{"use": "official", "family": "Dokter",
                                                                       "given": ["Els"]}],
                "telecom": [{"system": "email", "value": "els.dokter@zorg.example"}]})
    export.add({"resourceType": "ActivityDefinition", "id": "ad1", "url": "https://modules.example/ad1",
                "title": "Slaapdagboek", "isActive": True}, sender=offered_by)
    export.add(patient(1))
    export.add(patient(2))
    export.add({"resourceType": "CarePlan", "id": "cp1", "patient": {"reference": "Patient/p1"},
                "careTeam": [{"reference": "Practitioner/pr1"}],
                "activity": [{"id": "a1", "definition": {"reference": "ActivityDefinition/ad1"},
                              "status": "Available", "period": {"start": "2026-06-02", "end": "2026-07-01"}}]})
    return export


EHR_CREATES = ("Practitioner", "Patient", "RelatedPerson", "CareTeam", "ActivityDefinition", "Task")


def domain(scope=SCOPE):
    return {"domain": {"id": "ggz-test"}, "kt13": {"domain": "TEST", "fhir_base": KT13},
            "roles": [{"id": "ehr", "permissions": [{"resource": t, "operations": ["create", "read"], "scope": "all"}
                                                    for t in EHR_CREATES]},
                      {"id": "module", "permissions": [{"resource": "Task", "operations": ["read"], "scope": "all"}]}],
            "applications": [{"id": "ecd", "role": "ehr"}, {"id": "module", "role": "module"}],
            "migration": {"scope": scope, "success_criteria": {"max_error_rate_percent": 0}}}


def stage(tmp_path, export, scope=SCOPE):
    return Staging.build(export.write(tmp_path / "export.jsonl"), tmp_path / "stage.sqlite", scope, REFERENCE)


def blocking(staging):
    return [f for f in staging.findings() if f["severity"] == "blocking"]


def test_a_clean_export_has_no_blocking_findings_and_reports_what_is_not_migrated(tmp_path):
    export = base_export()
    note = export.add({"resourceType": "UserMessage", "id": "um1", "subject": "Herinnering"})
    staging = stage(tmp_path, export)
    assert blocking(staging) == []
    assert staging.in_scope_counts() == {"Practitioner": 1, "Patient": 2, "RelatedPerson": 0, "CareTeam": 0,
                                         "ActivityDefinition": 1, "Task": 1}
    [not_migrated] = staging.findings()
    assert not_migrated["code"] == "not-migrated" and not_migrated["message_id"] == note


@pytest.mark.parametrize(("resource", "expected"), [
    (patient(3, birthDate="03-02-1980"), "Patient.birthDate: '03-02-1980' is not a date"),
    (patient(3, birthDate="2031-01-01"), "Patient.birthDate: 2031-01-01 is not plausible"),
    (patient(3, gender="m"), "Patient.gender: 'm' is not one of"),
    ({"resourceType": "Patient", "id": "p3", "name": [{"family": "X"}]}, "Patient.identifier: required"),
    ({"resourceType": "Practitioner", "id": "p3", "name": [{"family": "X"}]}, "resourceType: 'Practitioner', but"),
    ({"resourceType": "Patient", "id": "p 3"}, "Patient.id: required"),
])
def test_a_message_against_the_specification_is_a_blocking_finding_naming_it(tmp_path, resource, expected):
    export = base_export()
    bad = export.add(resource, event="CreateOrUpdatePatient")
    [finding] = blocking(stage(tmp_path, export))
    assert finding["message_id"] == bad and finding["line"] == 6 and finding["code"] == "specification"
    assert expected in finding["text"]


def test_a_line_that_is_no_message_is_blocking(tmp_path):
    export = base_export()
    export.lines.insert(2, '{"seq": 3, "id": "x", "bundle": {"resourceType": "Patient"}}')
    export.lines.insert(3, "not json")
    found = {(f["line"], f["code"]) for f in blocking(stage(tmp_path, export))}
    assert found == {(3, "structure"), (4, "structure")}


def test_references_that_do_not_resolve_and_identities_used_twice_are_blocking(tmp_path):
    export = base_export()
    empty = export.add({"resourceType": "CarePlan", "id": "cp8", "patient": {"reference": "Patient/p405"},
                        "activity": []})
    plan = export.add({"resourceType": "CarePlan", "id": "cp9", "patient": {"reference": "Patient/p404"},
                       "activity": [{"id": "a9", "definition": {"reference": "ActivityDefinition/ad404"},
                                     "status": "Available"}]})
    status = export.add({"resourceType": "CarePlanActivityStatus", "id": "s1", "activity": "a404",
                         "activityStatus": "Completed"})
    twin = export.add({**patient(5), "identifier": [{"system": "urn:test", "value": "c1"}]})
    team = export.add({"resourceType": "CareTeam", "id": "ct1", "subject": {"reference": "Patient/p1"},
                       "participant": [{"member": {"reference": "Practitioner/pr1"}},
                                       {"member": {"reference": "RelatedPerson/rp404"}}]})
    performed = export.add({"resourceType": "CarePlan", "id": "cp7", "patient": {"reference": "Patient/p2"},
                            "activity": [{"id": "a7", "definition": {"reference": "ActivityDefinition/ad1"},
                                          "status": "Available", "performer": {"reference": "Practitioner/pr404"}},
                                         {"id": "a6", "definition": {"reference": "ActivityDefinition/ad1"},
                                          "status": "Available", "performer": {"reference": "Patient/p2"}}]})
    texts: dict[str, list[str]] = {}
    for f in blocking(stage(tmp_path, export)):
        texts.setdefault(f["message_id"], []).append(f["text"])
    assert any("Patient/p404 does not resolve" in t for t in texts[plan])
    assert texts[empty] == ["CarePlan cp8: Patient/p405 does not resolve in the export"]
    assert any("ActivityDefinition/ad404 does not resolve" in t for t in texts[plan])
    assert any("activity a404, which no care plan" in t for t in texts[status])
    assert texts[team] == ["CareTeam ct1: RelatedPerson/rp404 does not resolve in the export"]
    assert texts[performed] == ["activity a7: Practitioner/pr404 does not resolve in the export"]
    # the finding names the first message of the pair (p1's), and both resources
    every = " ".join(text for found in texts.values() for text in found)
    assert "Patient identifier urn:test|c1 belongs to more than one resource: p1, p5" in every
    assert twin not in texts


def test_blocking_findings_stop_before_anything_and_the_reports_name_them(tmp_path):
    export = base_export()
    bad = export.add(patient(3, gender="m"))
    export.write(tmp_path / "export.jsonl")
    with pytest.raises(ValidationFailed, match=r"1 blocking finding.*nothing imported.*line 6"):
        validate(tmp_path / "export.jsonl", tmp_path, domain(), REFERENCE)
    report = json.loads((tmp_path / "validation.json").read_text())
    assert report["blocking"] == 1 and report["findings"][0]["message_id"] == bad
    assert f"BLOCKING  line 6 (message {bad})" in (tmp_path / "validation.txt").read_text()


def test_the_newest_message_and_status_update_win(tmp_path):
    export = base_export()
    export.add(patient(1, birthDate="1981-01-01"))
    export.add({"resourceType": "CarePlanActivityStatus", "id": "s1", "activity": "a1", "activityStatus": "InProgress"})
    export.add({"resourceType": "CarePlanActivityStatus", "id": "s2", "activity": "a1", "activityStatus": "Completed"})
    staging = stage(tmp_path, export)
    [p1] = [r for r in staging.staged("Patient") if r["source_id"] == "p1"]
    assert json.loads(p1["body"])["birthDate"] == "1981-01-01"
    [task] = staging.staged("Task")
    assert task["status"] == "Completed"


def test_scope_open_dossiers_only_and_months_of_history(tmp_path):
    export = base_export()
    export.add({"resourceType": "CarePlanActivityStatus", "id": "s1", "activity": "a1", "activityStatus": "Completed"})
    export.add(patient(3), when="2023-01-01T00:00:00+00:00")  # older than 24 months
    export.add({"resourceType": "RelatedPerson", "id": "rp1", "patient": {"reference": "Patient/p1"},
                "name": [{"family": "Ouder"}]})
    open_only = stage(tmp_path, export, {"dossiers": "open_only", "history_months": {"default": 24}})
    # p1's only activity is completed: a closed dossier, with its task and related person; p3 is too old.
    assert {r["source_id"] for r in open_only.staged("Patient")} == {"p2"}
    assert open_only.out_of_scope() == {"Patient": 2, "RelatedPerson": 1, "Task": 1}
    # What an in-scope resource needs stays; here nothing needs the practitioner, but it is recent.
    assert open_only.in_scope_counts()["Practitioner"] == 1
    everything = stage(tmp_path, export, {"dossiers": "open_and_closed", "history_months": {"default": 48}})
    assert everything.out_of_scope() == {}


def test_a_client_group_keeps_its_longer_history(tmp_path):
    export = base_export()
    export.add(patient(3, meta={"tag": [{"system": "urn:kt2ops:client-group", "code": "chronic"}]}),
               when="2023-01-01T00:00:00+00:00")
    export.add(patient(4), when="2023-01-01T00:00:00+00:00")
    scope = {"dossiers": "open_and_closed", "history_months": {"default": 24, "per_client_group": {"chronic": 60}}}
    assert {r["source_id"] for r in stage(tmp_path, export, scope).staged("Patient")} == {"p1", "p2", "p3"}


def test_mapping_follows_the_migration_guide(tmp_path):
    export = base_export()
    export.add({"resourceType": "ActivityDefinition", "id": "ad2", "title": "Oud", "isActive": True,
                "isArchived": True})
    staging = stage(tmp_path, export)
    [task] = staging.staged("Task")
    resource = to_fhir("Task", task, KT13, lambda kind, source: f"{kind}/new-{source}", "Organization/o",
                       "Device/ecd")
    assert resource["status"] == "ready" and resource["intent"] == "plan"
    assert resource["for"] == resource["owner"] == {"reference": "Patient/new-p1"}
    assert resource["requester"] == {"reference": "Practitioner/new-pr1"}
    assert {"use": "temp", "system": "http://koppeltaal.nl/migration/identifier/CarePlanActivity",
            "value": f"{KT13}/CarePlanActivity/a1"} in resource["identifier"]  # the guide's: the KT 1.3 link
    assert {"url": "http://koppeltaal.nl/fhir/StructureDefinition/resource-origin",
            "valueReference": {"reference": "Device/ecd"}} in resource["extension"]
    statuses = {r["source_id"]: to_fhir("ActivityDefinition", r, KT13, str, None, None)["status"]
                for r in staging.staged("ActivityDefinition")}
    assert statuses == {"ad1": "active", "ad2": "retired"}


def test_source_hash_totals_change_with_one_changed_value(tmp_path):
    check_profiles(stage(tmp_path, base_export()), domain(), tmp_path / "first.sqlite")
    changed = base_export()
    changed.lines[2] = changed.lines[2].replace("Test1", "Test9")
    check_profiles(stage(tmp_path, changed), domain(), tmp_path / "second.sqlite")
    first, second = Totals.open(tmp_path / "first.sqlite"), Totals.open(tmp_path / "second.sqlite")
    assert first.counts == second.counts
    assert first.hashes["Patient"] != second.hashes["Patient"] and first.hashes["Task"] == second.hashes["Task"]
    assert second.differences(first) == [f"Patient {KT13}/Patient/p1: content differs"]


def test_the_validate_command_exits_1_on_a_blocking_finding_and_writes_the_reports(tmp_path):
    from click.testing import CliRunner

    from kt2ops.cli import main

    export = base_export("noorderlicht-ecd", "mindfit-module")  # as the lab's domain has them
    bad = export.add(patient(3, gender="m"))
    export.write(tmp_path / "export.jsonl")
    result = CliRunner().invoke(main, ["migration", "validate", str(tmp_path / "export.jsonl"), "--domain",
                                       "ggz-noorderlicht", "--out", str(tmp_path / "reports")])
    assert result.exit_code == 1 and f"BLOCKING  line 6 (message {bad})" in result.output
    assert json.loads((tmp_path / "reports" / "validation.json").read_text())["blocking"] == 1
    unknown = CliRunner().invoke(main, ["migration", "validate", str(tmp_path / "export.jsonl"), "--domain", "nope"])
    assert unknown.exit_code == 2 and "no domain 'nope'" in unknown.output


def test_a_resource_kt2_would_refuse_is_a_blocking_finding_naming_elements_and_line(tmp_path):
    export = base_export()
    bad = export.add(related_person(1, birthDate=None, relationship=[{"coding": [
        {"system": COD472, "code": "24", "display": "Voogd"}]}]))
    export.add({"resourceType": "ActivityDefinition", "id": "ad2", "url": "https://modules.example/ad2",
                "title": "Van een vertrokken leverancier"}, sender="gone")  # no Endpoint in the domain
    staging = stage(tmp_path, export)
    check_profiles(staging, domain(), tmp_path / "totals.sqlite")
    found = {f["message_id"]: f for f in blocking(staging)}
    assert found[bad]["code"] == "profile" and found[bad]["line"] == 6
    assert found[bad]["text"] == ("RelatedPerson rp1: RelatedPerson.birthDate: required by the KT2 profile; "
                                  "RelatedPerson.relationship[0].coding[0].display: must be "
                                  "'Wettelijke vertegenwoordiger' (kt2-role-display-validation)")
    [endpoint] = [f for f in found.values() if f["line"] == 7]
    assert f"ActivityDefinition.extension({ENDPOINT_EXTENSION}): at least 1 required" in endpoint["text"]
    assert staging.excluded() == []  # blocking: nothing is left out, nothing is imported


class RecordingTarget:
    """A FHIR server at the HTTP boundary: takes every transaction and says where it stored each entry."""

    domain = "ggz-test"

    def __init__(self):
        self.sent: list[dict] = []

    def transaction(self, entries):
        self.sent += [e["resource"] for e in entries]
        answer = {"entry": [{"response": {"location": f"{e['request']['url']}/x{n}"}} for n, e in enumerate(entries)]}
        return SimpleNamespace(status_code=200, json=lambda: answer)


def test_a_non_blocking_type_stays_out_of_the_migration_and_into_the_error_list(tmp_path):
    export = base_export()
    bad = export.add(related_person(1, gender=None))
    export.add(related_person(2))
    staging = stage(tmp_path, export)
    doc = domain()
    doc["migration"]["profile_findings"] = {"per_type": {"RelatedPerson": "non_blocking"}}
    check_profiles(staging, doc, tmp_path / "totals.sqlite")
    assert blocking(staging) == []
    [finding] = [f for f in staging.findings() if f["code"] == "profile"]
    assert finding["severity"] == "non-blocking" and finding["message_id"] == bad
    target = RecordingTarget()
    result = Migration(staging, Checkpoint(tmp_path / "checkpoint.sqlite"), {"ecd": target}, KT13).run()
    assert [e["source_id"] for e in result.errors] == ["rp1"]
    assert result.errors[0]["reason"] == "KT2 profile: RelatedPerson.gender: required by the KT2 profile"
    assert result.migrated["RelatedPerson"] == 1
    assert [v for resource in target.sent for v in violations(resource)] == []  # what is sent, KT 2.0 takes


def test_the_mapped_resources_carry_what_the_profiles_require_from_the_kt13_data(tmp_path):
    export = base_export()
    export.add(related_person(1))
    staging = stage(tmp_path, export)
    check_profiles(staging, domain(), tmp_path / "totals.sqlite")
    assert [f for f in staging.findings() if f["code"] == "profile"] == []
    [task] = staging.staged("Task")
    mapped = to_fhir("Task", task, KT13, lambda kind, source: f"{kind}/{source}", None, None)
    assert mapped["executionPeriod"] == {"start": "2026-06-02", "end": "2026-07-01"}
    assert "restriction" not in mapped  # KT2Task prohibits it
    [definition] = staging.staged("ActivityDefinition")
    offered = to_fhir("ActivityDefinition", definition, KT13, str, None, None, "Endpoint/ecd")
    assert offered["url"] == "https://modules.example/ad1"
    assert offered["extension"] == [{"url": "http://koppeltaal.nl/fhir/StructureDefinition/KT2EndpointExtension",
                                     "valueReference": {"reference": "Endpoint/ecd"}}]


def test_an_application_that_may_not_publish_what_it_sent_is_a_blocking_finding(tmp_path):
    export = base_export("ecd", offered_by="module")  # the module's role may not create ActivityDefinitions
    export.add(patient(3), sender="left-long-ago")
    staging = stage(tmp_path, export)
    check_publishers(staging, domain())
    found = sorted(f["text"] for f in blocking(staging) if f["code"] == "publisher")
    assert found == [
        "1 ActivityDefinition sent by module to KT 1.3: module has a role (module) that may not create "
        "ActivityDefinition, so it cannot publish them",
        "1 Patient sent by left-long-ago to KT 1.3: left-long-ago is not an application of the domain on KT 2.0, "
        "so it cannot publish them"]
    lines = {f["line"] for f in blocking(staging) if f["code"] == "publisher"}
    assert lines == {2, 6}  # the first message of each


@pytest.mark.parametrize(("resource", "expected"), [
    ({"resourceType": "Practitioner", "identifier": [{"system": "urn:x", "value": "1"}], "active": True,
      "name": [{"use": "official", "family": "A", "given": ["B"]}], "telecom": [{"system": "email", "value": "a@b"}]},
     "Practitioner.meta.profile: must name http://koppeltaal.nl/fhir/StructureDefinition/KT2Practitioner"),
    ({"resourceType": "Task", "meta": {"profile": ["http://koppeltaal.nl/fhir/StructureDefinition/KT2Task"]},
      "identifier": [{"system": "urn:x", "value": "1"}], "status": "ready", "intent": "order",
      "for": {"reference": "Patient/p"}, "owner": {"reference": "Patient/p"},
      "code": {"coding": [{"system": "http://vzvz.nl/fhir/CodeSystem/koppeltaal-task-code", "code": "view"}]}},
     "Task.partOf: required for a Task with code view"),
    ({"resourceType": "Subscription", "meta": {"profile": ["http://koppeltaal.nl/fhir/StructureDefinition/"
                                                           "KT2Subscription"]},
      "status": "requested", "reason": "r", "criteria": "Task?",
      "channel": {"type": "rest-hook", "endpoint": "http://module.example/hook"}},
     "Subscription.channel.endpoint: must be an https URL"),
])
def test_production_refuses_what_the_profile_check_finds(resource, expected):
    """A KT2 type without its declared profile, a view Task without partOf, a Subscription to a plain-http
    endpoint: each is one violation, worded as the server words it (tests/integration/test_42_profiles.py)."""
    [found] = violations(resource)
    assert found.startswith(expected)
    fix = {"Practitioner": {}, "Task": {"partOf": [{"reference": "Task/t"}]},
           "Subscription": {"channel": {"type": "rest-hook", "endpoint": "https://module.example/hook"}}}
    assert violations(declared({**resource, **fix[resource["resourceType"]]})) == []  # its positive twin
