"""kt2_app_service: a new client reaches KT 2.0 through nginx with the application's own key, and the
welcome mail goes to the outbox only while the trigger is on."""

import json

CALL = ("python3 -c \"import sys, urllib.request; r = urllib.request.Request('http://127.0.0.1:8070/_contract/apps/"
        "molecule-domain/molecule-ecd' + sys.argv[2], method=sys.argv[1], data=sys.argv[3].encode() or None, "
        "headers={'Content-Type': 'application/json'}); print(urllib.request.urlopen(r).read().decode())\" ")


def _call(host, method, path, body=""):
    out = host.run(CALL + f"{method} {path} '{body}'")
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


def test_key_is_private_to_the_service(host):
    key = host.file("/etc/kt2ops/apps/molecule-domain/molecule-ecd.key")
    assert key.mode == 0o600 and key.user == "kt2_apps"


def test_welcome_mail_follows_the_trigger(host):
    created = _call(host, "POST", "/clients", json.dumps({"number": "m1"}))
    assert created["patient"].startswith("Patient/") and created["mails"] == 1
    _call(host, "PUT", "/triggers/welcome_mail", json.dumps({"enabled": False}))
    assert _call(host, "POST", "/clients", json.dumps({"number": "m2"}))["mails"] == 0
    assert len(_call(host, "GET", "/outbox")["mails"]) == 1
    _call(host, "PUT", "/triggers/welcome_mail", json.dumps({"enabled": True}))
