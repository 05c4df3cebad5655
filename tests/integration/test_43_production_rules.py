"""The lab's KT 2.0 behaves as production does where production differs from KT's own rules (../shared/DOMAIN.md,
"What the reference server does that a client meets during a migration"): transaction entries stored as sent,
an update of a resource stored without resource-origin failing, If-Match on every kind of update, request ids
taken or generated and returned, AuditEvents for reads, searches and errors, newest first, and the ingress's
limit per client address. Declared profiles: test_42_profiles.py."""

import uuid

import httpx
import pytest

from kt2ops.migration.client import limited
from kt2ops.migration.profiles import declared
from tests.integration.conftest import burst, host_of, kt2_client
from tests.integration.test_40_fhir_server import ORIGIN, _audit_events, _origin, _patient

DOMAIN, EHR, MODULE = "ggz-noorderlicht", "noorderlicht-ecd", "mindfit-module"


def _transaction(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"resource": r, "request": {"method": "POST", "url": r["resourceType"]}} for r in resources]}


@pytest.mark.lab
def test_transaction_entries_are_stored_as_sent_under_the_reference_rules(provisioned):
    """Production neither stamps nor checks resource-origin on a transaction's entries; a resource stored
    without one cannot be updated afterwards (500), and an application of scope own does not see it."""
    ehr = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    unstamped, foreign = _patient(uuid.uuid4().hex), _patient(uuid.uuid4().hex, extension=[
        {"url": ORIGIN, "valueReference": {"reference": f"Device/{MODULE}"}}])
    answer = ehr.fhir("POST", "", json=_transaction(unstamped, foreign))
    assert answer.status_code == 200, answer.text
    first, second = (e["response"]["location"].split("/_history")[0] for e in answer.json()["entry"])
    stored = ehr.fhir("GET", first).json()
    assert _origin(stored) == []  # not stamped
    assert _origin(ehr.fhir("GET", second).json()) == [f"Device/{MODULE}"]  # kept as sent, not checked
    update = ehr.fhir("PUT", first, json={**stored, "active": False}, headers={"If-Match": 'W/"1"'})
    assert update.status_code == 500 and "resource-extension isn't found on the persisted version" in update.text

    # A single create still gets KT's rules: stamped, and a client-set origin refused.
    single = ehr.fhir("POST", "Patient", json=_patient(uuid.uuid4().hex))
    assert single.status_code == 201 and _origin(single.json()) == [f"Device/{EHR}"]


@pytest.mark.lab
def test_every_kind_of_update_needs_if_match(provisioned):
    ehr = kt2_client(provisioned, "acc22", "jeugdzorg-delta", "delta-ecd")
    patient = ehr.fhir("POST", "Patient", json=_patient(uuid.uuid4().hex)).json()
    patch = [{"op": "replace", "path": "/active", "value": False}]
    unversioned = ehr.fhir("PATCH", f"Patient/{patient['id']}", json=patch,
                           headers={"Content-Type": "application/json-patch+json"})
    assert unversioned.status_code == 412 and "If-Match is required" in unversioned.text
    patched = ehr.fhir("PATCH", f"Patient/{patient['id']}", json=patch,
                       headers={"Content-Type": "application/json-patch+json", "If-Match": 'W/"1"'})
    assert patched.status_code == 200 and patched.json()["active"] is False
    value = patient["identifier"][0]["value"]
    conditional = ehr.fhir("PUT", f"Patient?identifier=urn:test|{value}", json={**patched.json(), "active": True})
    assert conditional.status_code == 412
    assert ehr.fhir("DELETE", f"Patient/{patient['id']}").status_code == 200
    assert ehr.fhir("GET", f"Patient/{patient['id']}").status_code == 410


@pytest.mark.lab
def test_malformed_and_unsupported_requests_are_refused(provisioned):
    ehr = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    malformed = ehr.fhir("POST", "Patient", content=b'{"resourceType": "Patient", "active": tru',
                         headers={"Content-Type": "application/fhir+json"})
    assert malformed.status_code == 400, malformed.text
    media = ehr.fhir("POST", "Patient", content=b"<Patient/>", headers={"Content-Type": "text/plain"})
    assert media.status_code == 415, media.text
    answer = ehr.fhir("GET", "Patient?_summary=count", headers={"Accept": "text/csv"})
    assert answer.status_code == 406, answer.text


@pytest.mark.lab
def test_request_ids_are_taken_or_generated_and_audited_for_reads_and_errors(provisioned):
    ehr = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    patient = ehr.fhir("POST", "Patient", json=_patient(uuid.uuid4().hex)).json()
    path = f"Patient/{patient['id']}"
    ids = {"X-Request-Id": f"req-{uuid.uuid4().hex}", "X-Correlation-Id": f"cor-{uuid.uuid4().hex}",
           "X-Trace-Id": uuid.uuid4().hex}
    read = ehr.fhir("GET", path, headers=ids)
    assert read.status_code == 200 and all(read.headers[h] == v for h, v in ids.items())
    generated = ehr.fhir("GET", path, headers={"X-Request-Id": "not an id: spaces"})
    assert generated.headers["X-Request-Id"] != "not an id: spaces"
    uuid.UUID(generated.headers["X-Trace-Id"])
    refused = ehr.fhir("DELETE", path, headers=ids)  # the role may not delete Patients
    assert refused.status_code == 403 and refused.headers["X-Request-Id"] == ids["X-Request-Id"]

    events = [e for e in _audit_events(provisioned, "acc22", path) if ids["X-Request-Id"] in str(e)]
    by_outcome = {e["outcome"]: e for e in events}
    assert sorted(by_outcome) == ["0", "4"], events  # the read, and the refused delete
    assert by_outcome["0"]["subtype"][0]["code"] == "read" and by_outcome["0"]["action"] == "R"
    assert "HTTP 403" in by_outcome["4"]["outcomeDesc"]
    recorded = {e["url"].rsplit("/", 1)[1]: e["valueId"] for e in by_outcome["0"]["extension"] if "valueId" in e}
    assert recorded == {"request-id": ids["X-Request-Id"], "correlation-id": ids["X-Correlation-Id"],
                        "trace-id": ids["X-Trace-Id"]}
    # Stored at all, it declared KT2AuditEvent: the server's profile check refuses an AuditEvent that does not
    # (HAPI keeps meta.profile beside the stored text, so it is not in what _audit_events reads).


@pytest.mark.lab
def test_the_capability_statement_asked_without_a_token_is_audited(provisioned):
    """As production: an AuditEvent for the metadata answer too, with the request's ids; the client is named by
    its address (it has no token), the domain admin's Device observes."""
    ehr = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    request_id = f"meta-{uuid.uuid4().hex}"
    answer = ehr.request("GET", f"/api/v1/{DOMAIN}/fhir/r4/metadata", headers={"X-Request-Id": request_id})
    assert answer.status_code == 200 and answer.headers["X-Request-Id"] == request_id
    (event,) = _audit_events(provisioned, "acc22", request_id)
    assert event["outcome"] == "0" and event["subtype"][0]["code"] == "capabilities"
    assert event["agent"][0]["who"]["display"].startswith("anonymous client at ")
    assert event["source"]["observer"]["reference"] == "Device/kt2ops-admin"


@pytest.mark.lab
def test_searches_are_newest_first_unless_sorted(provisioned):
    ehr = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    system = f"urn:test:order:{uuid.uuid4().hex}"
    made = [ehr.fhir("POST", "Patient", json={**_patient(str(n)), "identifier": [{"system": system, "value": str(n)}]})
            .json()["id"] for n in range(3)]
    found = [e["resource"]["id"] for e in ehr.fhir("GET", f"Patient?identifier={system}|").json()["entry"]]
    assert found == made[::-1]
    oldest_first = ehr.fhir("GET", f"Patient?identifier={system}|&_sort=_lastUpdated").json()["entry"]
    assert [e["resource"]["id"] for e in oldest_first] == made


@pytest.mark.lab
def test_the_ingress_limits_each_client_address(provisioned):
    """5 requests/s with a burst of 25 per address, the excess answered at once by nginx with 503 (which a
    client tells from the platform's own, JSON, 503); a well-behaved client waits it out."""
    answers = burst(host_of(provisioned, "acc22"))
    refused = [a for a in answers if a.status_code == 503]
    assert refused and all(limited(a) for a in refused), [a.status_code for a in answers]
    assert sum(a.status_code == 200 for a in answers) >= 25  # the burst passes
    ehr = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    assert ehr.fhir("GET", "Patient?_summary=count").status_code == 200  # waited out, not failed
    closed_503 = httpx.Response(503, json={"resourceType": "OperationOutcome"})
    assert not limited(closed_503)


@pytest.mark.lab
def test_a_view_task_without_part_of_is_refused(provisioned):
    ehr = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    patient = ehr.fhir("POST", "Patient", json=_patient(uuid.uuid4().hex)).json()
    task = declared({"resourceType": "Task", "identifier": [{"system": "urn:test", "value": uuid.uuid4().hex}],
                     "status": "ready", "intent": "order", "for": {"reference": f"Patient/{patient['id']}"},
                     "owner": {"reference": f"Patient/{patient['id']}"},
                     "code": {"coding": [{"system": "http://vzvz.nl/fhir/CodeSystem/koppeltaal-task-code",
                                          "code": "view"}]}})
    refused = ehr.fhir("POST", "Task", json=task)
    assert refused.status_code == 422 and "Task.partOf" in refused.text
