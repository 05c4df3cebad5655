"""KT 2.0's notifications as production delivers them (../shared/DOMAIN.md): the applications subscribe
(rest-hook, https, no payload), HAPI activates their Subscriptions, a notification reaches only a subscriber
whose role may read the resource, and the application's trigger functions act on it, by searching again."""

import time
import uuid

import pytest

from kt2ops.migration.profiles import declared
from tests.integration.conftest import contract, eventually, host_of, kt2_client
from tests.integration.test_40_fhir_server import ORIGIN, _audit_events, _patient

ENV, DOMAIN, EHR, MODULE = "acc22", "ggz-noorderlicht", "noorderlicht-ecd", "mindfit-module"
EXPORT = "110106"  # the AuditEvent type of a notification sent (DICOM "Export")


def _mails_to(host: dict, app: str, address: str) -> int:
    """Mails in the application's outbox to one address (other tests' clients may be mailed meanwhile)."""
    return contract(host, 8070, f"/_contract/apps/{DOMAIN}/{app}/outbox")[1]["to"].count(address)


def _notifications(lab, of: str) -> list[dict]:
    """The AuditEvents of notifications the server sent about a resource ('Task/<id>')."""
    return [e for e in _audit_events(lab, ENV, of) if e["type"]["code"] == EXPORT]


def _task_of(owner: str, patient: str) -> dict:
    """A Task whose resource-origin names `owner`: created in a transaction, which production stores as sent."""
    return declared({"resourceType": "Task", "identifier": [{"system": "urn:test", "value": uuid.uuid4().hex}],
                     "status": "ready", "intent": "order", "for": {"reference": patient},
                     "owner": {"reference": patient},
                     "extension": [{"url": ORIGIN, "valueReference": {"reference": f"Device/{owner}"}}]})


@pytest.mark.lab
def test_applications_subscribe_to_what_their_triggers_react_to_and_hapi_activates_it(provisioned):
    host = host_of(provisioned, ENV)
    assert contract(host, 8070, f"/_contract/apps/{DOMAIN}/{EHR}/subscriptions")[1] == {"criteria": ["Patient?"]}
    assert contract(host, 8070, f"/_contract/apps/{DOMAIN}/{MODULE}/subscriptions")[1] == {"criteria": ["Task?"]}
    again = contract(host, 8070, f"/_contract/apps/{DOMAIN}/{EHR}/subscriptions", "PUT", {})
    assert again[0] == 200 and again[1]["changed"] is False
    ehr = kt2_client(provisioned, ENV, DOMAIN, EHR)
    # Its own only (scope own): the module's Subscription is not in the ehr's reach.
    (subscription,) = [e["resource"] for e in ehr.fhir("GET", "Subscription").json()["entry"]]
    assert subscription["status"] == "active" and subscription["channel"]["type"] == "rest-hook"
    assert subscription["channel"]["endpoint"] == f"https://{ENV}.koppeltaal.test:8443/notify/{DOMAIN}/{EHR}"
    assert "payload" not in subscription["channel"]


@pytest.mark.lab
def test_a_new_client_gets_one_welcome_mail_and_none_while_the_trigger_is_off(provisioned):
    """The mail comes from the notification (the application searches again), once; with the trigger
    switched off the notification still arrives (audited) and no mail is sent."""
    host = host_of(provisioned, ENV)
    base = f"/_contract/apps/{DOMAIN}/{EHR}"
    number = uuid.uuid4().hex
    status, answer = contract(host, 8070, base + "/clients", "POST",
                              {"given": "Evi", "email": f"evi-{number}@example.org", "number": number})
    assert status == 201, answer
    assert eventually(lambda: _mails_to(host, EHR, f"evi-{number}@example.org"))
    assert eventually(lambda: _notifications(provisioned, answer["patient"]))
    time.sleep(3)  # a second notification or a second reading would show now
    assert _mails_to(host, EHR, f"evi-{number}@example.org") == 1

    assert contract(host, 8070, base + "/triggers/welcome_mail", "PUT", {"enabled": False})[1]["changed"]
    try:
        quiet = uuid.uuid4().hex
        status, answer = contract(host, 8070, base + "/clients", "POST", {"number": quiet})
        assert status == 201, answer
        (notified,) = eventually(lambda: _notifications(provisioned, answer["patient"]))
        assert notified["outcome"] == "0" and notified["agent"][0]["who"]["reference"] == f"Device/{EHR}"
        time.sleep(3)
        assert _mails_to(host, EHR, f"client-{quiet}@example.org") == 0
    finally:
        contract(host, 8070, base + "/triggers/welcome_mail", "PUT", {"enabled": True})


@pytest.mark.lab
def test_a_notification_reaches_only_a_subscriber_whose_role_may_read_the_resource(provisioned):
    """The module's role reads Tasks of its own origin only: a Task of the ehr's origin is not notified to it,
    one of its own origin is, and its task trigger sends a message."""
    host = host_of(provisioned, ENV)
    ehr = kt2_client(provisioned, ENV, DOMAIN, EHR)
    patient = ehr.fhir("POST", "Patient", json=_patient(uuid.uuid4().hex)).json()
    address = f"Patient-{patient['id']}@clients.invalid"  # the module's task message goes to the Task's client
    created = {}
    for owner in (EHR, MODULE):
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": _task_of(owner, f"Patient/{patient['id']}"), "request": {"method": "POST", "url": "Task"}}]}
        answer = ehr.fhir("POST", "", json=bundle)
        assert answer.status_code == 200, answer.text
        created[owner] = answer.json()["entry"][0]["response"]["location"].split("/_history")[0]
    (notified,) = eventually(lambda: _notifications(provisioned, created[MODULE]))
    assert notified["agent"][0]["who"]["reference"] == f"Device/{MODULE}"
    assert eventually(lambda: _mails_to(host, MODULE, address))
    # The ehr's Task was matched before the module's (same subscription, created first): not delivered.
    assert _notifications(provisioned, created[EHR]) == []
    time.sleep(3)
    assert _mails_to(host, MODULE, address) == 1
