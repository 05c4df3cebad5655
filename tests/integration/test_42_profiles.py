"""The KT2 profiles enforced by the FHIR server (HAPI): for every profiled type a valid resource is accepted, and
for each required element, fixed value and required binding of the fact sheet (../shared/KT2-PROFILES.md) a
resource that breaks it is refused with 422 naming the element. The cases and the valid resources are written
from the fact sheet (tests/fact_sheet.py), not from the server's rule file, so a rule missing there is a case
the server accepts. The migration's validation, which reads the server's rule file, says the same of each.
An application with create rights on all eleven types is registered for the test (a lab inventory copy's
domain file) and removed again by re-applying the real domain files."""

import copy
import uuid

import pytest
import yaml

from kt2ops.migration.profiles import declared, profile_of, violations
from kt2ops.secrets import read_secret
from tests.fact_sheet import CLIENT_ID, FACT_SHEET
from tests.integration.conftest import copy_lab_inventory, host_of, ok, playbook

ENV, DOMAIN, TESTER = "acc21", "ggz-noorderlicht", "profile-tester"
TYPES = sorted(FACT_SHEET)


@pytest.fixture(scope="module")
def tester(provisioned, tmp_path_factory):
    """A client of an application whose role may create and read every profiled type."""
    from kt2ref.client import Kt2Client

    inventory = copy_lab_inventory(tmp_path_factory.mktemp("profiles") / "lab")
    path = inventory / "domains" / f"{DOMAIN}.yml"
    document = yaml.safe_load(path.read_text())
    document["roles"].append({"id": TESTER, "permissions": [
        {"resource": t, "operations": ["create", "read"], "scope": "all"} for t in TYPES]})
    document["applications"].append({"id": TESTER, "name": "Profile tester", "supplier": "Testers BV",
                                     "kind": "other", "role": TESTER})
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    ok(playbook("-i", str(inventory), "playbooks/domains.yml", "-l", f"{ENV}.lab"))
    pki = inventory / ".pki"
    client = Kt2Client(f"https://{ENV}.koppeltaal.test", DOMAIN, TESTER,
                       read_secret(pki / ENV / "apps" / DOMAIN / f"{TESTER}.key"), str(pki / ENV / "ca.crt"),
                       connect_host=host_of(provisioned, ENV)["address"])
    yield client
    client.close()
    ok(playbook("playbooks/domains.yml", "-l", f"{ENV}.lab"))  # the tester goes again


def _official_name() -> list[dict]:
    return [{"use": "official", "family": "Testmans", "given": ["Tess"]}]


def _identifier() -> list[dict]:
    return [{"system": "urn:test:profiles", "value": uuid.uuid4().hex}]


@pytest.fixture(scope="module")
def valid(tester):
    """One valid resource per profiled type, the ones others refer to created first."""
    made: dict[str, dict] = {}

    def create(resource: dict) -> dict:
        answer = tester.fhir("POST", resource["resourceType"], json=declared(resource))
        assert answer.status_code == 201, (resource["resourceType"], answer.text)
        made[resource["resourceType"]] = resource
        return answer.json()

    patient = create({"resourceType": "Patient", "identifier": _identifier(), "active": True,
                      "name": _official_name(), "gender": "female", "birthDate": "1990-02-03"})
    endpoint = create({"resourceType": "Endpoint", "status": "active", "address": "https://module.example/launch",
                       "connectionType": {"system": "http://vzvz.nl/fhir/CodeSystem/koppeltaal-endpoint-connection-type",
                                          "code": "hti-smart-on-fhir"},
                       "payloadType": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/endpoint-payload-type",
                                                    "code": "any"}]}]})
    device = create({"resourceType": "Device", "status": "active",
                     "identifier": [{"system": CLIENT_ID, "value": f"test-{uuid.uuid4().hex[:8]}"}],
                     "deviceName": [{"name": "Test device", "type": "user-friendly-name"}]})
    patient_ref = {"reference": f"Patient/{patient['id']}"}
    create({"resourceType": "Practitioner", "identifier": _identifier(), "active": True, "name": _official_name(),
            "telecom": [{"system": "email", "value": "tess@example.org"}]})
    create({"resourceType": "RelatedPerson", "identifier": _identifier(), "active": True, "patient": patient_ref,
            "relationship": [{"coding": [{"system": "urn:oid:2.16.840.1.113883.2.4.3.11.22.472", "code": "23",
                                          "display": "Contactpersoon"}]}],
            "name": _official_name(), "gender": "male", "birthDate": "1960-05-06"})
    create({"resourceType": "Organization", "identifier": _identifier(), "active": True, "name": "Test org"})
    create({"resourceType": "CareTeam", "identifier": _identifier(), "status": "active", "subject": patient_ref})
    create({"resourceType": "ActivityDefinition", "url": f"https://module.example/ad/{uuid.uuid4().hex}",
            "title": "Test activity", "status": "active",
            "extension": [{"url": "http://koppeltaal.nl/fhir/StructureDefinition/KT2EndpointExtension",
                           "valueReference": {"reference": f"Endpoint/{endpoint['id']}"}}],
            "useContext": [{"code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type",
                                     "code": "program"}, "valueCodeableConcept": {"text": "Test"}}]})
    create({"resourceType": "Task", "identifier": _identifier(), "status": "ready", "intent": "order",
            "priority": "routine", "for": patient_ref, "owner": patient_ref})
    create({"resourceType": "Subscription", "status": "requested", "reason": "Test", "criteria": "Task?",
            "channel": {"type": "rest-hook", "endpoint": "https://module.example/hook"}})
    create({"resourceType": "AuditEvent", "recorded": "2026-12-04T10:00:00+01:00",
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
            "agent": [{"type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM",
                                            "code": "110153"}]},
                       "who": {"reference": f"Device/{device['id']}"}, "requestor": True}],
            "source": {"observer": {"reference": f"Device/{device['id']}"}},
            "entity": [{"what": patient_ref}]})
    return made


def test_every_profiled_type_has_a_valid_resource_accepted(valid):
    assert sorted(valid) == sorted(TYPES)


def _without(resource: dict, path: str) -> dict:
    broken = copy.deepcopy(resource)
    *parents, last = path.split(".")
    node = broken
    for part in parents:
        node = node[part][0] if isinstance(node[part], list) else node[part]
    del node[last]
    return broken


def _get(resource: dict, path: str):
    node = resource
    for part in path.split("."):
        node = node[part][0] if isinstance(node[part], list) else node[part]
    return node


def _replaced(resource: dict, path: str, value) -> dict:
    broken = copy.deepcopy(resource)
    *parents, last = path.split(".")
    node = broken
    for part in parents:
        node = node[part][0] if isinstance(node[part], list) else node[part]
    node[last] = value if not isinstance(node[last], list) else [value]
    return broken


# Another value of the element's own type: a code of the base binding where there is one (HAPI refuses a code
# that is not in a required base binding while it parses, with 400, before any profile is looked at).
OTHER_VALUE = {"priority": "urgent", "channel.type": "websocket", "deviceName.type": "manufacturer-name",
               "identifier.system": "urn:other"}


def _cases():
    for kind in TYPES:
        for path in FACT_SHEET[kind].get("required", []):
            yield kind, f"{kind}.{path}", ("without", path, None)
        for path, fixed in FACT_SHEET[kind].get("fixed", {}).items():
            if not isinstance(fixed, dict):
                other = OTHER_VALUE[path]
            elif "coding" in fixed:  # a CodeableConcept: one coding more than fixed is too much
                other = {"coding": [{**fixed["coding"][0], "display": "x"}]}
            else:  # a Coding: nothing else than its system and code
                other = {**fixed, "display": "anything more"}
            yield kind, f"{kind}.{path}", ("replaced", path, other)
        for path in FACT_SHEET[kind].get("codes", []):
            yield kind, f"{kind}.{path}", ("replaced", path, {"system": "http://terminology.hl7.org/CodeSystem/"
                                                              "usage-context-type", "code": "not-a-code"})


@pytest.mark.lab
@pytest.mark.parametrize(("kind", "element", "change"), list(_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_a_resource_breaking_a_rule_is_refused_naming_the_element(tester, valid, kind, element, change):
    how, path, value = change
    base = valid[kind]
    if how == "replaced" and path == "priority" and "priority" not in base:
        base = {**base, "priority": "routine"}
    broken = _without(base, path) if how == "without" else _replaced(base, path, value)
    answer = tester.fhir("POST", kind, json=broken)
    assert answer.status_code == 422, answer.text
    named = " ".join(e for i in answer.json()["issue"] for e in i.get("expression", []))
    # Without its only child a parent is empty, which FHIR JSON drops: then the parent is what is missing.
    emptied = how == "without" and "." in path and len(_get(base, path.rsplit(".", 1)[0])) == 1
    assert element in named or (emptied and element.rsplit(".", 1)[0] in named), answer.text
    if not emptied:
        _judged_alike(broken, answer)


def _judged_alike(broken: dict, answer) -> None:
    """The migration's validation reads the same rule file and says the same (before anything is sent)."""
    server = sorted(i["diagnostics"].split(": ", 1)[1] for i in answer.json()["issue"])
    assert server == sorted(violations(broken)), answer.text


@pytest.mark.lab
@pytest.mark.parametrize(("kind", "change", "element"), [
    ("Patient", {"deceasedBoolean": False}, "Patient.deceasedBoolean"),
    ("Patient", {"name": [{"family": "Testmans", "given": ["Tess"]}]}, "Patient.name[0].use"),
    ("Patient", {"name": [{"use": "official", "family": "Testmans"}]}, "Patient.name[0]"),
    ("Practitioner", {"telecom": [{"system": "phone", "value": "+31 50 000 0000"}]}, "Practitioner.telecom"),
    ("RelatedPerson", {"relationship": [{"coding": [{"system": "urn:oid:2.16.840.1.113883.2.4.3.11.22.472",
                                                     "code": "24", "display": "Voogd"}]}]},
     "RelatedPerson.relationship[0].coding[0].display"),
    ("ActivityDefinition", {"extension": []}, "ActivityDefinition.extension"),
    ("ActivityDefinition", {"useContext": [{"code": {"system": "http://vzvz.nl/fhir/CodeSystem/"
                                                     "koppeltaal-usage-context-type", "code": "koppeltaal-expansion"},
                                            "valueCodeableConcept": {"coding": [{"system": "urn:other",
                                                                                 "code": "x"}]}}]},
     "ActivityDefinition.useContext[0].valueCodeableConcept"),
    ("Task", {"owner": {"reference": "Device/someone"}}, "Task.owner"),
    ("Task", {"note": [{"text": "not in KT 2.0"}]}, "Task.note"),
    ("Subscription", {"channel": {"type": "rest-hook", "payload": "application/fhir+json"}},
     "Subscription.channel.payload"),
    ("Task", {"code": {"coding": [{"system": "http://vzvz.nl/fhir/CodeSystem/koppeltaal-task-code", "code": "view"}]}},
     "Task.partOf"),
    ("Subscription", {"channel": {"type": "rest-hook", "endpoint": "http://module.example/hook"}},
     "Subscription.channel.endpoint"),
])
def test_the_guides_other_rules_are_enforced(tester, valid, kind, change, element):
    broken = {**valid[kind], **change}
    answer = tester.fhir("POST", kind, json=broken)
    assert answer.status_code == 422, answer.text
    assert any(element in " ".join(i.get("expression", [])) for i in answer.json()["issue"]), answer.text
    _judged_alike(broken, answer)


@pytest.mark.lab
@pytest.mark.parametrize("kind", TYPES)
def test_a_resource_that_does_not_declare_its_kt2_profile_is_refused(tester, valid, kind):
    """As production: a KT2 type whose meta.profile does not name its KT2 profile is refused, naming both."""
    undeclared = {k: v for k, v in valid[kind].items() if k != "meta"}
    answer = tester.fhir("POST", kind, json=undeclared)
    assert answer.status_code == 422, answer.text
    assert any(f"{kind}.meta.profile" in i.get("expression", []) and profile_of(kind) in i["diagnostics"]
               for i in answer.json()["issue"]), answer.text
    _judged_alike(undeclared, answer)
    other = {**undeclared, "meta": {"profile": [profile_of("Patient" if kind != "Patient" else "Practitioner")]}}
    assert tester.fhir("POST", kind, json=other).status_code == 422  # another type's profile is not its own
