"""The reference application service: new clients reach the platform, and on KT 1.3 the welcome-mail trigger
writes to the outbox only while it is switched on (through the contract). On KT 2.0 the trigger functions act
on the platform's notifications: test_44_notifications.py."""

import uuid

import pytest

from kt2ops.migration.target import target_in
from tests.conftest import LAB_INVENTORY
from tests.integration.conftest import contract, host_of, kt2_client

ORIGIN = "http://koppeltaal.nl/fhir/StructureDefinition/resource-origin"
APPLICATION = "http://vzvz.nl/fhir/NamingSystem/koppeltaal-client-id"  # a Device's identifier: the client id


def _outbox(host, domain, app):
    return contract(host, 8070, f"/_contract/apps/{domain}/{app}/outbox")[1]["mails"]


@pytest.mark.lab
def test_kt13_welcome_mail_only_while_the_trigger_is_on(provisioned):
    host, domain, app = host_of(provisioned, "kt13"), "ggz-noorderlicht", "noorderlicht-ecd"
    base = f"/_contract/apps/{domain}/{app}"
    before = len(_outbox(host, domain, app))
    status, answer = contract(host, 8070, base + "/clients", "POST", {"given": "Evi", "number": uuid.uuid4().hex})
    assert status == 201, answer
    assert answer["mails"] == 1 and len(_outbox(host, domain, app)) == before + 1

    assert contract(host, 8070, base + "/triggers/welcome_mail", "PUT", {"enabled": False})[1]["changed"]
    try:
        assert contract(host, 8070, base + "/triggers", "GET")[1] == {"welcome_mail": False}
        status, answer = contract(host, 8070, base + "/clients", "POST", {"number": uuid.uuid4().hex})
        assert status == 201 and answer["mails"] == 0
        assert len(_outbox(host, domain, app)) == before + 1
    finally:
        contract(host, 8070, base + "/triggers/welcome_mail", "PUT", {"enabled": True})


@pytest.mark.lab
def test_new_client_reaches_kt2_with_the_applications_origin(provisioned):
    host = host_of(provisioned, "acc22")
    number = uuid.uuid4().hex
    answer = contract(host, 8070, "/_contract/apps/ggz-noorderlicht/noorderlicht-ecd/clients", "POST",
                      {"number": number})[1]
    reader = kt2_client(provisioned, "acc22", "ggz-noorderlicht", "mindfit-module")
    patient = reader.fhir("GET", answer["patient"]).json()
    assert patient["identifier"][0]["value"] == number
    # The applications' roles may not read Devices; the domain admin may.
    support = target_in(LAB_INVENTORY, "acc22").client("ggz-noorderlicht")
    devices = {}
    for app in ("noorderlicht-ecd", "mindfit-module"):
        (devices[app],) = [d["id"] for d in support.search_all("Device", identifier=f"{APPLICATION}|{app}")]
    support.close()
    assert devices == {"noorderlicht-ecd": "noorderlicht-ecd", "mindfit-module": "mindfit-module"}  # id = client id
    # Stamped by the server from the token of the application that created it, not from the reader's.
    origins = [e["valueReference"]["reference"] for e in patient.get("extension", []) if e["url"] == ORIGIN]
    assert origins == [f"Device/{devices['noorderlicht-ecd']}"]


@pytest.mark.lab
def test_unknown_trigger_is_refused(provisioned):
    host = host_of(provisioned, "acc22")
    status, answer = contract(host, 8070, "/_contract/apps/ggz-noorderlicht/mindfit-module/triggers/welcome_mail",
                              "PUT", {"enabled": False})
    assert status == 404 and "has no trigger function 'welcome_mail'" in str(answer)
