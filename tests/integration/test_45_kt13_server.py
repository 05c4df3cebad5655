"""The KT 1.3 server on kt13: each application authenticated by its own credential and acting only as
itself, the conformance statement, mailbox posts over HTTPS, GetNextNewAndClaim with processing statuses
and claim timeout, queue depth, traffic control, the freeze flag, ordered export and the generator; and
it keeps answering after its database restarts under it."""

import json
import time
import uuid

import pytest

from tests.conftest import run
from tests.integration.conftest import Kt13App as Kt13
from tests.integration.conftest import contract, host_of, kt13_password

DOMAIN = "NOORDERLICHT"
SENDER, READER = "noorderlicht-ecd", "mindfit-module"


def _export(host, domain):
    """The domain's messages, from the contract's JSON-lines export."""
    status, text = contract(host, 8090, f"/_contract/domains/{domain}/export")
    assert status == 200
    return [json.loads(line) for line in (text if isinstance(text, str) else json.dumps(text)).splitlines() if line]


def _status(host, message_id):
    return next(m["status"] for m in _export(host, DOMAIN) if m["id"] == message_id)


def _one_message_posted(lab):
    """The sender posts a message about a new patient: (sender, reader, patient, message id)."""
    sender, reader = Kt13(lab, SENDER), Kt13(lab, READER)
    patient = f"Patient/test-{uuid.uuid4().hex[:8]}"
    message_id, posted = sender.post(patient)
    assert posted.status_code == 201, posted.text
    return sender, reader, patient, message_id


@pytest.mark.lab
def test_post_claim_and_settle(provisioned):
    sender, reader, patient, message_id = _one_message_posted(provisioned)
    assert sender.claim(patient).json()["total"] == 0  # a sender does not read its own messages
    claimed = reader.claim(patient).json()
    assert claimed["total"] == 1
    assert claimed["entry"][0]["resource"]["entry"][0]["resource"]["id"] == message_id
    assert reader.claim(patient).json()["total"] == 0  # claimed: no longer New
    depth = contract(sender.host, 8090, f"/_contract/domains/{DOMAIN}/depth")[1]
    assert depth["in_flight"] >= 1
    settled = reader.settle(message_id, "Success")
    assert settled.status_code == 200 and settled.json()["status"] == "Success", settled.text
    assert reader.settle(message_id, "Success").status_code == 409


@pytest.mark.lab
def test_each_application_authenticates_and_acts_only_as_itself(provisioned):
    sender, reader, patient, message_id = _one_message_posted(provisioned)
    # No credential, a wrong password, the credential of another domain's application: 401 with a Basic
    # challenge, and nothing taken in.
    intruder = f"Patient/intruder-{uuid.uuid4().hex[:8]}"
    for auth in (None, (SENDER, "not-the-password"), ("delta-ecd", kt13_password("JZDELTA", "delta-ecd"))):
        refused = Kt13(provisioned, SENDER, auth=auth).post(intruder)[1]
        assert refused.status_code == 401, (auth and auth[0], refused.text)
        assert refused.headers["www-authenticate"].startswith('Basic realm="KT 1.3 NOORDERLICHT"')
        assert Kt13(provisioned, READER, auth=auth).claim(intruder).status_code == 401
    assert not [m for m in _export(sender.host, DOMAIN) if intruder in json.dumps(m["bundle"])]
    # The reader's own credential, naming the sender's mailbox: refused; as itself it reads what is for it.
    params = {"_query": "MessageHeader.GetNextNewAndClaim", "patient": patient}
    as_other = reader.call("GET", "MessageHeader/_search", params=params,
                           headers={"X-Koppeltaal-Application": SENDER})
    assert as_other.status_code == 403 and "only as itself" in as_other.text
    assert reader.claim(patient).json()["total"] == 1
    assert sender.settle(message_id, "Success").status_code == 409  # not the sender's claim to settle
    assert reader.settle(message_id, "Success").json()["status"] == "Success"


@pytest.mark.lab
def test_the_conformance_statement_needs_no_credential(provisioned):
    anonymous = Kt13(provisioned, SENDER, auth=None)
    answer = anonymous.call("GET", "metadata")
    assert answer.status_code == 200, answer.text
    statement = answer.json()
    assert (statement["resourceType"], statement["fhirVersion"]) == ("Conformance", "1.0.2")
    assert statement["rest"][0]["security"]["service"][0]["coding"][0]["code"] == "Basic"
    events = {e["code"]["code"] for e in statement["messaging"][0]["event"]}
    assert {"CreateOrUpdatePatient", "CreateOrUpdateCarePlan", "UpdateCarePlanActivityStatus"} <= events
    assert Kt13(provisioned, SENDER, domain="NOSUCHDOMAIN", auth=None).call("GET", "metadata").status_code == 404


@pytest.mark.lab
def test_keeps_answering_after_its_database_restarts(provisioned):
    sender, reader = Kt13(provisioned, SENDER), Kt13(provisioned, READER)
    host = sender.host
    patient = f"Patient/test-{uuid.uuid4().hex[:8]}"
    assert sender.post(patient)[1].status_code == 201  # the pool holds open connections
    assert contract(host, 8090, f"/_contract/domains/{DOMAIN}/depth")[0] == 200
    run("podman", "exec", host["container"], "systemctl", "restart", "postgresql")
    # Every pooled connection died with the old server: each request must still get a working one.
    assert [contract(host, 8090, f"/_contract/domains/{DOMAIN}/depth")[0] for _ in range(10)] == [200] * 10
    assert sender.post(patient)[1].status_code == 201
    assert reader.claim(patient).json()["total"] == 1


@pytest.mark.lab
def test_failed_five_times_is_maximum_retries_exceeded(provisioned):
    sender, reader = Kt13(provisioned, SENDER), Kt13(provisioned, READER)
    patient = f"Patient/test-{uuid.uuid4().hex[:8]}"
    message_id, _ = sender.post(patient)
    statuses = []
    for _ in range(5):
        assert reader.claim(patient).json()["total"] == 1
        statuses.append(reader.settle(message_id, "Failed").json()["status"])
    assert statuses == ["New"] * 4 + ["MaximumRetriesExceeded"]
    assert reader.claim(patient).json()["total"] == 0


@pytest.mark.lab
def test_new_version_replaces_an_unread_one(provisioned):
    sender, reader = Kt13(provisioned, SENDER), Kt13(provisioned, READER)
    patient = f"Patient/test-{uuid.uuid4().hex[:8]}"
    first, _ = sender.post(patient)
    second, _ = sender.post(patient)
    claimed = reader.claim(patient).json()
    assert [e["resource"]["entry"][0]["resource"]["id"] for e in claimed["entry"]] == [second]
    assert _status(sender.host, first) == "ReplacedByNewVersion"


@pytest.mark.lab
def test_claim_times_out_back_to_new(provisioned):
    sender, reader = Kt13(provisioned, SENDER), Kt13(provisioned, READER)
    patient = f"Patient/test-{uuid.uuid4().hex[:8]}"
    sender.post(patient)
    assert reader.claim(patient).json()["total"] == 1
    time.sleep(21)  # the lab's claim timeout is 20 s (inventories/lab/group_vars/kt13.yml)
    assert reader.claim(patient).json()["total"] == 1


@pytest.mark.lab
def test_traffic_control_per_domain(provisioned):
    sender, reader = Kt13(provisioned, SENDER), Kt13(provisioned, READER)
    host = sender.host
    url = f"/_contract/domains/{DOMAIN}/traffic"
    assert contract(host, 8090, url, "PUT", {"inbound_open": False})[1]["changed"]
    try:
        _, refused = sender.post(f"Patient/test-{uuid.uuid4().hex[:8]}")
        assert refused.status_code == 503
        assert f"inbound traffic for domain {DOMAIN} is stopped" in refused.text
        assert reader.claim("Patient/none").status_code == 200  # processing still on
        contract(host, 8090, url, "PUT", {"processing_on": False})
        stopped = reader.claim("Patient/none")
        assert stopped.status_code == 503 and "processing for domain" in stopped.text
        other = contract(host, 8090, "/_contract/domains/JZDELTA/traffic")[1]
        assert other == {"inbound_open": True, "processing_on": True}
    finally:
        contract(host, 8090, url, "PUT", {"inbound_open": True, "processing_on": True})
    assert sender.post(f"Patient/test-{uuid.uuid4().hex[:8]}")[1].status_code == 201


@pytest.mark.lab
def test_frozen_domain_refuses_configuration_changes(provisioned):
    host = host_of(provisioned, "kt13")
    assert contract(host, 8090, f"/_contract/domains/{DOMAIN}/freeze", "PUT", {"frozen": True})[1]["changed"]
    try:
        status, answer = contract(host, 8090, f"/_contract/domains/{DOMAIN}", "PUT",
                                  {"name": "changed", "applications": {}})
        assert status == 409 and "is frozen (runbook L.1)" in json.dumps(answer)
        assert contract(host, 8090, f"/_contract/domains/{DOMAIN}", "DELETE")[0] == 409
    finally:
        contract(host, 8090, f"/_contract/domains/{DOMAIN}/freeze", "PUT", {"frozen": False})


@pytest.mark.lab
def test_export_is_in_original_order_and_complete(provisioned):
    host = host_of(provisioned, "kt13")
    messages = _export(host, "JZDELTA")
    depth = contract(host, 8090, "/_contract/domains/JZDELTA/depth")[1]
    assert len(messages) == depth["total"] > 0
    assert [m["seq"] for m in messages] == sorted(m["seq"] for m in messages)
    timestamps = [m["bundle"]["entry"][0]["resource"]["timestamp"] for m in messages]
    assert timestamps == sorted(timestamps)


@pytest.mark.lab
def test_generator_is_reproducible_by_seed(provisioned):
    host = host_of(provisioned, "kt13")
    config = {"name": "generator test", "applications": {"app-a": {"name": "A"}, "app-b": {"name": "B"}}}

    def fill(name, seed, **counts):
        contract(host, 8090, f"/_contract/domains/{name}", "PUT", config)
        status, answer = contract(host, 8090, f"/_contract/domains/{name}/generate", "POST",
                                  {"seed": seed, "clients": 40, **({"counts": counts} if counts else {})})
        assert status == 200 and answer["changed"], answer
        return [(m["event"], m["sender"], m["bundle"]) for m in _export(host, name)]

    def tasks(messages):  # a care plan's activities become KT 2.0 Tasks
        return sum(len(b["entry"][1]["resource"]["activity"]) for e, _, b in messages if e == "CreateOrUpdateCarePlan")

    def remove(name):
        contract(host, 8090, f"/_contract/domains/{name}", "DELETE")

    try:
        first = fill("GENTEST", 7)
        remove("GENTEST")
        second = fill("GENTEST", 7)
        remove("GENTEST")
        other = fill("GENTEST", 8)
        assert first == second
        assert first != other
        events = {event for event, _, _ in first}
        assert {"CreateOrUpdatePatient", "CreateOrUpdatePractitioner", "CreateOrUpdateRelatedPerson",
                "CreateOrUpdateActivityDefinition", "CreateOrUpdateCarePlan", "UpdateCarePlanActivityStatus",
                "CreateOrUpdateUserMessage"} <= events
        again = contract(host, 8090, "/_contract/domains/GENTEST/generate", "POST", {"seed": 8, "clients": 40})
        assert again[1]["changed"] is False
        status, refused = contract(host, 8090, "/_contract/domains/GENTEST/generate", "POST",
                                   {"seed": 8, "clients": 40, "counts": {"Task": -1}})
        assert status == 400 and "counts" in refused["issue"][0]["diagnostics"], refused
        # In the proportions a domain file declares: 10 Tasks per client instead of the generator's 2.5.
        remove("GENTEST")
        declared = tasks(fill("GENTEST", 8, Patient=100, Task=1000))
        assert 300 <= declared <= 500 and 60 <= tasks(other) <= 140, (declared, tasks(other))
    finally:
        remove("GENTEST")
