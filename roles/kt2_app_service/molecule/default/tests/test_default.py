"""kt2_app_service: a new client reaches KT 2.0 through nginx with the application's own key; the application
subscribed, and the platform's notification of the new client makes it mail the client, only while the trigger
is on."""

import json
import time

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


def _mails_to(host, address):
    return _call(host, "GET", "/outbox")["to"].count(address)


def _eventually(probe, patience=60.0):
    deadline = time.monotonic() + patience
    while not (found := probe()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


def test_the_application_subscribed_to_new_clients(host):
    assert _call(host, "GET", "/subscriptions") == {"criteria": ["Patient?"]}


def test_welcome_mail_follows_the_notification_while_the_trigger_is_on(host):
    created = _call(host, "POST", "/clients", json.dumps({"number": "m1"}))
    assert created["patient"].startswith("Patient/")
    assert _eventually(lambda: _mails_to(host, "client-m1@example.org") == 1)
    _call(host, "PUT", "/triggers/welcome_mail", json.dumps({"enabled": False}))
    try:
        _call(host, "POST", "/clients", json.dumps({"number": "m2"}))
        time.sleep(5)  # the notification arrives within a second or two
        assert _mails_to(host, "client-m2@example.org") == 0 and _mails_to(host, "client-m1@example.org") == 1
    finally:
        _call(host, "PUT", "/triggers/welcome_mail", json.dumps({"enabled": True}))
