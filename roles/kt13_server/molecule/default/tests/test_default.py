"""kt13_server: healthy, a domain's mailbox filled by the generator, the freeze flag guards its config."""

import hashlib
import json

CALL = ("python3 -c \"import sys, urllib.request, urllib.error; r = urllib.request.Request(sys.argv[2], "
        "method=sys.argv[1], data=sys.argv[3].encode() or None, headers={'Content-Type': 'application/json'})\n"
        "try: print(urllib.request.urlopen(r).read().decode())\n"
        "except urllib.error.HTTPError as e: print(e.code, e.read().decode())\" ")
BASE = "http://127.0.0.1:8090/_contract/domains/MOLTEST"


def _call(host, method, url, body=""):
    return host.run(CALL + f"{method} {url} '{body}'").stdout.strip()


def test_running_on_loopback(host):
    assert host.service("kt13-server").is_running
    assert [s for s in host.socket.get_listening_sockets() if s.endswith(":8090")] == ["tcp://127.0.0.1:8090"]


def test_generator_fills_and_freeze_guards(host):
    _call(host, "PUT", BASE, json.dumps({"name": "t", "applications": {"a": {}, "b": {}}}))
    _call(host, "POST", BASE + "/generate", json.dumps({"seed": 1, "clients": 10}))
    depth = json.loads(_call(host, "GET", BASE + "/depth"))
    assert depth["queued"] > 10
    change = json.dumps({"name": "changed", "applications": {}})
    _call(host, "PUT", BASE + "/freeze", json.dumps({"frozen": True}))
    # Refused for the freeze (409 and its message), not for the body or the domain: unfrozen, the same change is
    # taken.
    refused = _call(host, "PUT", BASE, change)
    assert refused.startswith("409 ") and "domain MOLTEST is frozen (runbook L.1): its configuration cannot change" \
        in refused
    _call(host, "PUT", BASE + "/freeze", json.dumps({"frozen": False}))
    assert json.loads(_call(host, "PUT", BASE, change))["changed"] is True
    _call(host, "DELETE", BASE)


AUTHED = ("python3 -c \"import sys, base64, json, urllib.request, urllib.error; h = {'Content-Type': "
          "'application/json'}\nif sys.argv[2]: h['Authorization'] = 'Basic ' + base64.b64encode(sys.argv[2]"
          ".encode()).decode()\nr = urllib.request.Request(sys.argv[1], data=sys.argv[3].encode() or None, headers=h, "
          "method='POST' if sys.argv[3] else 'GET')\ntry: print(urllib.request.urlopen(r).status)\n"
          "except urllib.error.HTTPError as e: print(e.code, json.load(e)['issue'][0]['diagnostics'])\" ")
MAILBOX = "http://127.0.0.1:8090/kt13/MOLAUTH/FHIR/Koppeltaal"
# The verifier of password "s3cret" for application a (sha256 of salt + password), as kt13_credentials makes it.
SALT = "0123456789abcdef0123456789abcdef"
# Why the server refuses (its diagnostics beside the 401): no credential at all, or one of no application.
NO_CREDENTIAL = ("401 authentication required: each application of domain MOLAUTH authenticates with its KT 1.3 "
                 "credential (HTTP basic)")
NOT_AN_APPLICATION = "401 the credentials are not those of an application of domain MOLAUTH"


def _as(host, url, user_password, body=""):
    return host.run(AUTHED + f"{url} '{user_password}' '{body}'").stdout.strip()


def test_applications_authenticate_with_their_own_credential(host):
    digest = hashlib.sha256((SALT + "s3cret").encode()).hexdigest()
    config = {"name": "t", "applications": {"a": {"credential": f"sha256${SALT}${digest}"}, "b": {}}}
    _call(host, "PUT", BASE.replace("MOLTEST", "MOLAUTH"), json.dumps(config))
    message = json.dumps({"resourceType": "Bundle", "type": "message", "entry": [{"resource": {
        "resourceType": "MessageHeader", "id": "6f1c9a56-1f0e-4a4e-9a55-0b8e6c1d2f10",
        "event": {"code": "CreateOrUpdatePatient"}, "data": [{"reference": "Patient/p1"}]}}]})
    try:
        assert _as(host, MAILBOX + "/metadata", "") == "200"  # the conformance statement is public
        assert _as(host, MAILBOX + "/Mailbox", "", message) == NO_CREDENTIAL
        assert _as(host, MAILBOX + "/Mailbox", "a:wrong", message) == NOT_AN_APPLICATION
        assert _as(host, MAILBOX + "/Mailbox", "b:", message) == NOT_AN_APPLICATION  # b has no credential: nobody is b
        assert _as(host, MAILBOX + "/Mailbox", "a:s3cret", message) == "201"  # the twin: the same message, a's own
    finally:
        _call(host, "DELETE", BASE.replace("MOLTEST", "MOLAUTH"))
