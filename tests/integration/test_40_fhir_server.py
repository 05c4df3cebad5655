"""The KT 2.0 FHIR server (HAPI FHIR JPA) on every environment, as applications see it: HTTPS with the
environment's own certificate, SMART backend-services tokens, role scopes, resource-origin, If-Match, read,
vread, _history, search paged by next links, conditional create, transactions, tenants, the contract."""

import contextlib
import json
import socket
import ssl
import threading
import uuid
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kt2ops.comply.tls import scan_tls
from kt2ops.migration.profiles import declared
from tests.conftest import LAB_INVENTORY, run
from tests.integration.conftest import contract, host_of, kt2_client

KT2_ENVS = ("acc21", "acc22", "mgr2", "prd2")
DOMAIN, EHR, MODULE = "ggz-noorderlicht", "noorderlicht-ecd", "mindfit-module"
ORIGIN = "http://koppeltaal.nl/fhir/StructureDefinition/resource-origin"


def _tls_handshake(address: str, hostname: str, cafile: str, version: ssl.TLSVersion | None = None):
    context = ssl.create_default_context(cafile=cafile)
    if version:
        context.minimum_version = context.maximum_version = version
    with socket.create_connection((address, 443), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=hostname) as tls:
        return tls.version(), tls.cipher()[0]


@pytest.mark.lab
@pytest.mark.parametrize("env", KT2_ENVS)
def test_https_with_the_environments_own_certificate(provisioned, env):
    host = host_of(provisioned, env)
    own_ca = str(LAB_INVENTORY / ".pki" / env / "ca.crt")
    version, _ = _tls_handshake(host["address"], f"{env}.koppeltaal.test", own_ca)
    assert version == "TLSv1.3"
    other = next(e for e in KT2_ENVS if e != env)
    with pytest.raises(ssl.SSLCertVerificationError):
        _tls_handshake(host["address"], f"{env}.koppeltaal.test", str(LAB_INVENTORY / ".pki" / other / "ca.crt"))


@pytest.fixture
def legacy_tls_server(tmp_path):
    """A loopback TLS server that still accepts TLS 1.1: where a probe must see TLS 1.1 offered and taken."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "legacy.test")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(hours=1))
            .sign(key, hashes.SHA256()))
    pem = tmp_path / "legacy.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 is deprecated: that is the point
        context.minimum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 allows TLS 1.1 only at security level 0
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return  # closed: the test is over
            with contextlib.suppress(OSError):
                context.wrap_socket(conn, server_side=True).close()
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


@pytest.mark.lab
def test_tls_versions_and_ciphers(provisioned, legacy_tls_server):
    host = host_of(provisioned, "acc22")
    ca = str(LAB_INVENTORY / ".pki" / "acc22" / "ca.crt")
    version, cipher = _tls_handshake(host["address"], "acc22.koppeltaal.test", ca, ssl.TLSVersion.TLSv1_2)
    assert version == "TLSv1.2"
    assert cipher.startswith("ECDHE-ECDSA-") and ("GCM" in cipher or "CHACHA20" in cipher)
    # Python's OpenSSL 3 never offers TLS 1.1 by default; sslyze's scan (its own legacy OpenSSL) does: it sees
    # TLS 1.1 where a server takes it, so its finding none on acc22 is a refusal, not a client that did not ask.
    scanned = scan_tls([("legacy", "legacy.test", "127.0.0.1", legacy_tls_server),
                        ("acc22", "acc22.koppeltaal.test", host["address"], 443)])
    assert "TLSv1.1" in scanned["legacy"]["protocols"], scanned["legacy"]
    assert set(scanned["acc22"]["protocols"]) == {"TLSv1.2", "TLSv1.3"}, scanned["acc22"]
    assert not scanned["acc22"]["errors"]


@pytest.mark.lab
def test_plain_http_redirects_to_https(provisioned):
    host = host_of(provisioned, "acc22")
    with socket.create_connection((host["address"], 80), timeout=5) as conn:
        conn.sendall(b"GET /api/v1/x HTTP/1.1\r\nHost: acc22.koppeltaal.test\r\nConnection: close\r\n\r\n")
        answer = conn.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 301") and "Location: https://acc22.koppeltaal.test/api/v1/x" in answer


@pytest.mark.lab
def test_token_signed_with_another_environments_key_is_refused(provisioned):
    own = kt2_client(provisioned, "prd2", DOMAIN, EHR)
    assert own.request_token().status_code == 200
    foreign = kt2_client(provisioned, "prd2", DOMAIN, EHR, key_environment="acc22")
    refused = foreign.request_token()
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert "not signed with the key registered for noorderlicht-ecd on this environment" in \
        refused.json()["error_description"]


@pytest.mark.lab
def test_token_scopes_follow_the_role(provisioned):
    token = kt2_client(provisioned, "acc22", DOMAIN, MODULE).request_token().json()
    scopes = token["scope"].split()
    assert "system/Patient.rs" in scopes
    assert any(s.startswith("system/Task.rsu?resource-origin=Device/") for s in scopes)
    assert not any(s.startswith("system/Patient.") and "u" in s.split(".")[1] for s in scopes)


def _patient(identifier: str, **extra) -> dict:
    return declared({"resourceType": "Patient", "active": True,
                     "identifier": [{"system": "urn:test", "value": identifier}],
                     "name": [{"use": "official", "family": "Testmans", "given": ["Tess"]}], "gender": "female",
                     "birthDate": "1990-02-03", **extra})


def _origin(resource: dict) -> list[str]:
    return [e["valueReference"]["reference"] for e in resource.get("extension", []) if e["url"] == ORIGIN]


@pytest.mark.lab
def test_capability_statement_without_a_token_names_the_authentication_urls(provisioned):
    app = kt2_client(provisioned, "acc21", DOMAIN, EHR)
    metadata = app.request("GET", f"/api/v1/{DOMAIN}/fhir/r4/metadata")
    assert metadata.status_code == 200
    statement = metadata.json()
    assert (statement["resourceType"], statement["fhirVersion"]) == ("CapabilityStatement", "4.0.1")
    oauth = next(e for e in statement["rest"][0]["security"]["extension"]
                 if e["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris")
    issuer = app.token_url.removesuffix("/token")
    assert oauth["extension"] == [{"url": "token", "valueUri": app.token_url},
                                  {"url": "authorize", "valueUri": f"{issuer}/authorize"},
                                  {"url": "introspect", "valueUri": f"{issuer}/introspect"},
                                  {"url": "jwks", "valueUri": f"{issuer}/.well-known/jwks.json"},
                                  {"url": "issuer", "valueUri": issuer}]
    offered = [r for r in statement["rest"][0]["resource"] if r.get("searchInclude") or r.get("searchRevInclude")]
    assert offered == []  # KT 2.0 offers no _include or _revinclude
    smart = app.request("GET", f"/api/v1/{DOMAIN}/fhir/r4/.well-known/smart-configuration").json()
    assert smart["token_endpoint"] == app.token_url
    refused = app.request("GET", f"/api/v1/{DOMAIN}/fhir/r4/Patient")
    assert refused.status_code == 401 and "an access token is required" in refused.text


@pytest.mark.lab
def test_create_read_vread_history_update_with_origin_and_if_match(provisioned):
    app = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    created = app.fhir("POST", "Patient", json=_patient(uuid.uuid4().hex))
    assert created.status_code == 201, created.text
    patient = created.json()
    assert _origin(patient) == [f"Device/{EHR}"]
    uuid.UUID(patient["id"])  # assigned by the server
    assert created.headers["Location"].endswith(f"/api/v1/{DOMAIN}/fhir/r4/Patient/{patient['id']}/_history/1")
    foreign = app.fhir("POST", "Patient", json=_patient(uuid.uuid4().hex, extension=[
        {"url": ORIGIN, "valueReference": {"reference": "Device/someone-else"}}]))
    assert foreign.status_code == 400 and "a client may not set it" in foreign.text
    path = f"Patient/{patient['id']}"
    assert app.fhir("GET", path).json()["meta"]["versionId"] == "1"

    changed = {**patient, "active": False}
    missing = app.fhir("PUT", path, json=changed)
    assert missing.status_code == 412 and "If-Match is required" in missing.text
    stale = app.fhir("PUT", path, json=changed, headers={"If-Match": 'W/"7"'})
    assert stale.status_code == 409 and "version" in stale.text.lower()
    updated = app.fhir("PUT", path, json=changed, headers={"If-Match": 'W/"1"'})
    assert updated.status_code == 200 and updated.json()["meta"]["versionId"] == "2"
    assert updated.headers["ETag"] == 'W/"2"'
    assert _origin(updated.json()) == [f"Device/{EHR}"]
    unstamped = {k: v for k, v in updated.json().items() if k != "extension"}
    kept = app.fhir("PUT", path, json={**unstamped, "active": True}, headers={"If-Match": 'W/"2"'})
    assert kept.status_code == 200 and _origin(kept.json()) == [f"Device/{EHR}"]  # copied from version 2
    moved = app.fhir("PUT", path, json={**kept.json(), "extension": [
        {"url": ORIGIN, "valueReference": {"reference": f"Device/{MODULE}"}}]}, headers={"If-Match": 'W/"3"'})
    assert moved.status_code == 403 and "resource-origin may not change" in moved.text

    assert app.fhir("GET", f"{path}/_history/1").json()["active"] is True
    assert app.fhir("GET", f"{path}/_history/2").json()["active"] is False
    history = app.fhir("GET", f"{path}/_history").json()
    assert history["type"] == "history" and [e["resource"]["meta"]["versionId"] for e in history["entry"]] == \
        ["3", "2", "1"]
    chosen = uuid.uuid4().hex
    invented = app.fhir("PUT", f"Patient/{chosen}", json={**_patient("x"), "id": chosen}, headers={"If-Match": 'W/"1"'})
    assert invented.status_code == 400 and "ids are assigned by the server" in invented.text

    refused = app.fhir("DELETE", path)
    assert refused.status_code == 403 and "does not allow 'd' on Patient" in refused.text

    # An AuditEvent per change that succeeded (one create, two updates), by the application's Device.
    events = [e for e in _audit_events(provisioned, "acc22", path) if e["action"] in "CUD" and e["outcome"] == "0"]
    assert sorted(e["subtype"][0]["code"] for e in events) == ["create", "update", "update"]
    assert {e["agent"][0]["who"]["reference"] for e in events} == {f"Device/{EHR}"}


def _audit_events(lab, env: str, path: str) -> list[dict]:
    """The AuditEvents the FHIR server stored about a resource (read from its database: no role reads them)."""
    stored = run("podman", "exec", host_of(lab, env)["container"], "runuser", "-u", "postgres", "--",
                 "psql", "-qtA", "-d", f"kt2_{env}", "-c",
                 "SELECT v.res_text_vc FROM hfj_res_ver v JOIN hfj_resource r ON r.res_id = v.res_id "
                 f"WHERE r.res_type = 'AuditEvent' AND v.res_text_vc LIKE '%\"{path}\"%'").stdout.splitlines()
    return [json.loads(line) for line in stored]


@pytest.mark.lab
def test_logical_delete(provisioned):
    app = kt2_client(provisioned, "acc22", "jeugdzorg-delta", "delta-ecd")  # role ehr of delta may delete
    patient = app.fhir("POST", "Patient", json=_patient(uuid.uuid4().hex)).json()
    value = patient["identifier"][0]["value"]
    assert app.fhir("DELETE", f"Patient/{patient['id']}").status_code == 200
    assert app.fhir("GET", f"Patient/{patient['id']}").status_code == 410
    assert app.fhir("GET", f"Patient?identifier=urn:test|{value}&_summary=count").json()["total"] == 0
    assert app.fhir("GET", f"Patient/{patient['id']}/_history/1").status_code == 200  # the old version stays
    deletion = [e for e in _audit_events(provisioned, "acc22", f"Patient/{patient['id']}")
                if e["subtype"][0]["code"] == "delete" and e["outcome"] == "0"]
    assert [e["entity"][0]["what"] for e in deletion] == [{"type": "Patient", "display": f"Patient/{patient['id']}"}]


@pytest.mark.lab
def test_conditional_create_search_count_and_last_updated(provisioned):
    app = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    value = uuid.uuid4().hex
    condition = {"If-None-Exist": f"identifier=urn:test|{value}"}
    first = app.fhir("POST", "Patient", json=_patient(value), headers=condition)
    again = app.fhir("POST", "Patient", json=_patient(value), headers=condition)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Location"].split("/_history")[0].endswith(first.json()["id"])
    count = app.fhir("GET", f"Patient?identifier=urn:test|{value}&_summary=count").json()
    assert count["total"] == 1 and "entry" not in count
    since = first.json()["meta"]["lastUpdated"]
    later = app.fhir("GET", "Patient", params={"_lastUpdated": f"ge{since}", "_summary": "count"}).json()["total"]
    assert later >= 1
    future = app.fhir("GET", "Patient", params={"_lastUpdated": "gt2999-01-01", "_summary": "count"}).json()
    assert future["total"] == 0
    counted = app.fhir("GET", "Patient", params={"identifier": f"urn:test|{value}", "_totalMethod": "accurate"})
    assert counted.status_code == 200
    unknown = app.fhir("GET", "Patient?shoe-size=42")
    assert unknown.status_code == 400 and "shoe-size" in unknown.text


@pytest.mark.lab
def test_searchsets_page_by_next_links_each_match_once(provisioned):
    app = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    system = f"urn:test:paging:{uuid.uuid4().hex}"
    for n in range(5):
        app.fhir("POST", "Patient", json={**_patient(str(n)), "identifier": [{"system": system, "value": str(n)}]})
    first = app.fhir("GET", "Patient", params={"identifier": f"{system}|", "_count": 2}).json()
    assert [link["relation"] for link in first["link"]] == ["self", "next"]
    assert first["link"][0]["url"].startswith(f"https://acc22.koppeltaal.test/api/v1/{DOMAIN}/fhir/r4/Patient?")
    seen, page = [], first
    while True:
        seen += [e["resource"]["identifier"][0]["value"] for e in page["entry"]]
        following = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
        if following is None:
            break
        assert following.startswith(f"https://acc22.koppeltaal.test/api/v1/{DOMAIN}/fhir/r4?")
        page = app.fhir("GET", following.split("/fhir/r4", 1)[1]).json()
    assert sorted(seen) == ["0", "1", "2", "3", "4"]


@pytest.mark.lab
def test_identifier_search_follows_an_update(provisioned):
    app = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    old, new = uuid.uuid4().hex, uuid.uuid4().hex
    patient = app.fhir("POST", "Patient", json=_patient(old)).json()
    changed = {**patient, "identifier": [{"system": "urn:test", "value": new}]}
    assert app.fhir("PUT", f"Patient/{patient['id']}", json=changed, headers={"If-Match": 'W/"1"'}).status_code == 200
    assert app.fhir("GET", f"Patient?identifier=urn:test|{old}&_summary=count").json()["total"] == 0
    found = app.fhir("GET", f"Patient?identifier=urn:test|{new}").json()["entry"]
    assert [e["resource"]["id"] for e in found] == [patient["id"]]
    assert app.fhir("GET", f"Patient?identifier={new}&_summary=count").json()["total"] == 1  # bare value
    assert app.fhir("GET", f"Task?identifier=urn:test|{new}&_summary=count").json()["total"] == 0  # other type


@pytest.mark.lab
def test_a_database_restart_under_the_server_is_ridden_out(provisioned):
    # Pooled connections are checked before use: after PostgreSQL restarts, the next request is served.
    host = host_of(provisioned, "acc21")
    app = kt2_client(provisioned, "acc21", DOMAIN, EHR)
    before = app.fhir("GET", "Patient?_summary=count").json()["total"]
    run("podman", "exec", host["container"], "systemctl", "restart", "postgresql")
    assert app.fhir("GET", "Patient?_summary=count").json()["total"] == before


@pytest.mark.lab
def test_transaction_bundle_is_all_or_nothing(provisioned):
    app = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    before = app.fhir("GET", "Task?_summary=count").json()["total"]
    value = uuid.uuid4().hex
    # The lab runs production's transaction rules: entries are stored as sent, so the client names its Device.
    own = [{"url": ORIGIN, "valueReference": {"reference": f"Device/{EHR}"}}]
    task = declared({"resourceType": "Task", "identifier": [{"system": "urn:test", "value": value}],
                     "status": "ready", "intent": "order", "for": {"reference": "urn:uuid:p1"},
                     "owner": {"reference": "urn:uuid:p1"}, "extension": own})
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:t1", "resource": task, "request": {"method": "POST", "url": "Task"}},
        {"fullUrl": "urn:uuid:p1", "resource": _patient(value, extension=own),
         "request": {"method": "POST", "url": "Patient", "ifNoneExist": f"identifier=urn:test|{value}"}},
    ]}
    answer = app.fhir("POST", "", json=bundle)
    assert answer.status_code == 200, answer.text
    locations = [e["response"]["location"] for e in answer.json()["entry"]]
    stored_task = app.fhir("GET", locations[0]).json()
    assert stored_task["for"]["reference"] == locations[1].split("/_history")[0]
    assert app.fhir("GET", "Task?_summary=count").json()["total"] == before + 1
    again = app.fhir("POST", "", json=bundle).json()  # the Patient matches now: the Task points at it
    assert again["entry"][1]["response"]["status"].startswith("200")

    broken = {**bundle, "entry": [bundle["entry"][1] | {"resource": _patient(uuid.uuid4().hex)},
                                  {"resource": {**task, "for": {"reference": "Patient/not-there"},
                                                "owner": {"reference": "Patient/not-there"}},
                                   "request": {"method": "POST", "url": "Task"}}]}
    refused = app.fhir("POST", "", json=broken)
    assert refused.status_code in (400, 404) and "Patient/not-there" in refused.text
    assert app.fhir("GET", "Task?_summary=count").json()["total"] == before + 2
    update = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": stored_task, "request": {"method": "PUT", "url": f"Task/{stored_task['id']}"}}]}
    unversioned = app.fhir("POST", "", json=update)
    assert unversioned.status_code == 412 and "Bundle.entry[0].request.ifMatch is required" in unversioned.text


@pytest.mark.lab
def test_a_transaction_creating_one_identifier_twice_is_refused(provisioned):
    # HAPI's check that no conditional create's match URL matches two of the Bundle's resources, with each URL
    # parsed once per request (MatchUrlOncePerRequest): every URL must still be compared with every resource.
    app = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    values = [uuid.uuid4().hex for _ in range(5)]

    def entry(value: str, *also: str) -> dict:
        identifiers = [{"system": "urn:test", "value": v} for v in (value, *also)]
        return {"resource": {**_patient(value), "identifier": identifiers}, "request": {
            "method": "POST", "url": "Patient", "ifNoneExist": f"Patient?identifier=urn:test|{value}"}}

    def transaction(entries: list[dict]) -> dict:
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}

    # The last Patient also carries the third one's identifier: the third's match URL matches two resources.
    twice = app.fhir("POST", "", json=transaction([entry(v) for v in values[:4]] + [entry(values[4], values[2])]))
    assert twice.status_code == 400, twice.text
    assert "HAPI-0542" in twice.text and f"identifier=urn:test|{values[2]}" in twice.text
    for value in values:
        assert app.fhir("GET", f"Patient?identifier=urn:test|{value}&_summary=count").json()["total"] == 0
    distinct = app.fhir("POST", "", json=transaction([entry(v) for v in values]))
    assert distinct.status_code == 200, distinct.text
    assert [e["response"]["status"][:3] for e in distinct.json()["entry"]] == ["201"] * 5
    for value in values:
        assert app.fhir("GET", f"Patient?identifier=urn:test|{value}&_summary=count").json()["total"] == 1


@pytest.mark.lab
def test_malformed_resource_is_refused_and_nothing_is_stored(provisioned):
    app = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    before = app.fhir("GET", "Patient?_summary=count").json()["total"]
    bad = app.fhir("POST", "Patient", json=_patient("x", birthDate="31-12-1999"))
    assert bad.status_code == 400 and "31-12-1999" in bad.text
    wrong_type = app.fhir("POST", "Patient", json={"resourceType": "Task"})
    assert wrong_type.status_code == 400
    assert app.fhir("GET", "Patient?_summary=count").json()["total"] == before


@pytest.mark.lab
def test_role_scope_limits_what_an_application_may_change(provisioned):
    ehr = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    module = kt2_client(provisioned, "acc22", DOMAIN, MODULE)
    patient = ehr.fhir("POST", "Patient", json=_patient(uuid.uuid4().hex)).json()
    task = ehr.fhir("POST", "Task", json=declared({
        "resourceType": "Task", "identifier": [{"system": "urn:test", "value": uuid.uuid4().hex}], "status": "ready",
        "intent": "order", "for": {"reference": f"Patient/{patient['id']}"},
        "owner": {"reference": f"Patient/{patient['id']}"}})).json()
    assert module.fhir("GET", f"Patient/{patient['id']}").status_code == 200  # Patient.rs, scope all
    no_update = module.fhir("PUT", f"Patient/{patient['id']}", json=patient, headers={"If-Match": 'W/"1"'})
    assert no_update.status_code == 403 and "does not allow 'u' on Patient" in no_update.text
    not_own = module.fhir("PUT", f"Task/{task['id']}", json=task, headers={"If-Match": 'W/"1"'})
    assert not_own.status_code == 403 and "was not created by mindfit-module" in not_own.text
    own_tasks = module.fhir("GET", "Task", params={"_id": task["id"]}).json()
    assert own_tasks.get("entry", []) == []  # the module's searches see its own Tasks only
    assert ehr.fhir("POST", "ActivityDefinition", json={"resourceType": "ActivityDefinition",
                                                         "status": "active"}).status_code == 403


@pytest.mark.lab
def test_a_domain_cannot_see_another_domains_data(provisioned):
    noorderlicht = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    delta = kt2_client(provisioned, "acc22", "jeugdzorg-delta", "delta-ecd")
    value = uuid.uuid4().hex
    patient = noorderlicht.fhir("POST", "Patient", json=_patient(value)).json()
    assert delta.fhir("GET", f"Patient/{patient['id']}").status_code == 404
    assert delta.fhir("GET", f"Patient?identifier=urn:test|{value}&_summary=count").json()["total"] == 0
    # A token of one domain does not open another domain's URL.
    stolen = delta.request("GET", f"/api/v1/{DOMAIN}/fhir/r4/Patient/{patient['id']}",
                           headers={"Authorization": f"Bearer {delta.token()}"})
    assert stolen.status_code == 403 and f"(another domain), not for domain {DOMAIN}" in stolen.text


@pytest.mark.lab
def test_a_token_of_one_environment_opens_nothing_in_another(provisioned):
    acc21 = kt2_client(provisioned, "acc21", DOMAIN, EHR)
    acc22 = kt2_client(provisioned, "acc22", DOMAIN, EHR)
    carried = acc22.request("GET", f"/api/v1/{DOMAIN}/fhir/r4/Patient?_summary=count",
                            headers={"Authorization": f"Bearer {acc21.token()}"})
    assert carried.status_code == 401 and "access token rejected" in carried.text  # acc22's JWKS lacks the key
    assert acc22.fhir("GET", "Patient?_summary=count").status_code == 200
@pytest.mark.lab
def test_traffic_closed_migration_and_open_per_domain_through_the_contract(provisioned):
    host = host_of(provisioned, "mgr2")
    traffic = f"/_contract/domains/{DOMAIN}/traffic"
    app = kt2_client(provisioned, "mgr2", DOMAIN, EHR)
    other = kt2_client(provisioned, "mgr2", "jeugdzorg-delta", "delta-ecd")
    admin = kt2_client(provisioned, "mgr2", DOMAIN, "kt2ops-admin")
    stored = app.fhir("POST", "Patient", json=_patient(uuid.uuid4().hex))
    assert stored.status_code == 201, stored.text
    assert contract(host, 8085, traffic, "PUT", {"traffic": "closed"})[1]["changed"]
    try:
        closed = app.request_token()
        assert closed.status_code == 503 and "closed for traffic" in closed.text
        assert other.fhir("GET", "Patient?_summary=count").status_code == 200
        assert admin.fhir("GET", "Patient?_summary=count").status_code == 200  # the domain admin alone
        assert contract(host, 8085, traffic, "PUT", {"traffic": "closed"})[1]["changed"] is False
        assert contract(host, 8080, traffic)[1] == {"traffic": "closed"}  # mirrored to the FHIR server

        # Being migrated: the applications publish their migrated data, stamped with their own Device,
        # and do nothing else until production opens.
        assert contract(host, 8085, traffic, "PUT", {"traffic": "migration"})[1]["changed"]
        mark = {"use": "temp", "system": "http://koppeltaal.nl/migration/identifier/Patient",
                "value": f"https://kt13.example/Patient/{uuid.uuid4().hex}"}
        migrated = _patient(uuid.uuid4().hex)
        migrated["identifier"].append(mark)
        published = app.fhir("POST", "Patient", json=migrated)
        assert published.status_code == 201, published.text
        assert _origin(published.json()) == [f"Device/{EHR}"]
        live = app.fhir("POST", "Patient", json=_patient(uuid.uuid4().hex))
        assert live.status_code == 503 and "being migrated" in live.text
        patient = stored.json()
        update = app.fhir("PUT", f"Patient/{patient['id']}", json=patient | {"gender": "male"},
                          headers={"If-Match": f'W/"{patient["meta"]["versionId"]}"'})
        assert update.status_code == 503 and "updates nothing" in update.text
        assert app.fhir("GET", f"Patient/{patient['id']}").status_code == 200
    finally:
        contract(host, 8085, traffic, "PUT", {"traffic": "open"})
    assert app.fhir("GET", "Patient?_summary=count").status_code == 200
    assert contract(host, 8085, traffic, "PUT", {"traffic": "ajar"})[0] == 400


@pytest.mark.lab
def test_counts_and_hash_total_follow_the_data(provisioned):
    host = host_of(provisioned, "prd2")
    app = kt2_client(provisioned, "prd2", "jeugdzorg-delta", "delta-ecd")
    before = contract(host, 8080, "/_contract/domains/jeugdzorg-delta/totals")[1]
    created = app.fhir("POST", "Patient", json=_patient(uuid.uuid4().hex)).json()
    after = contract(host, 8080, "/_contract/domains/jeugdzorg-delta/totals")[1]
    assert after["counts"]["Patient"] == before["counts"].get("Patient", 0) + 1
    assert after["counts"]["Patient"] == app.fhir("GET", "Patient?_summary=count").json()["total"]
    assert after["hash_total"] != before["hash_total"]
    assert "AuditEvent" not in after["counts"]  # the trail of changes is not data
    app.fhir("PUT", f"Patient/{created['id']}", json={**created, "active": False}, headers={"If-Match": 'W/"1"'})
    changed = contract(host, 8080, "/_contract/domains/jeugdzorg-delta/totals")[1]
    assert changed["counts"] == after["counts"] and changed["hash_total"] != after["hash_total"]
    assert contract(host, 8080, "/_contract/domains/jeugdzorg-delta/totals")[1] == changed
