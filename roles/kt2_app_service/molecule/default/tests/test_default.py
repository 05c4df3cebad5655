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


def _read_by_the_application(host, patient: str) -> bool:
    """Whether the application's reader has taken the Patient in after a notification (its cursor names it)."""
    cursors = host.file("/var/lib/kt2ref/kt2-app-service/notifications.json")
    return cursors.exists and patient.removeprefix("Patient/") in json.loads(cursors.content_string).get(
        "molecule-domain/molecule-ecd/Patient", {}).get("ids", [])


def _subscription_active(host) -> bool:
    """Whether the platform has activated the application's Subscription: HAPI does so up to a minute after it was
    requested, and notifies nobody of a client created before (seen when verify follows converge at once)."""
    out = host.run("runuser -u postgres -- psql -XAt -d kt2_molenv -c \"SELECT v.res_text_vc::jsonb->>'status' "
                   "FROM hfj_resource r JOIN hfj_res_ver v ON v.res_id = r.res_id AND v.res_ver = r.res_ver "
                   "WHERE r.res_type = 'Subscription'\"")
    return out.stdout.split() == ["active"]


def test_the_application_subscribed_to_new_clients(host):
    assert _call(host, "GET", "/subscriptions") == {"criteria": ["Patient?"]}


def test_welcome_mail_follows_the_notification_while_the_trigger_is_on(host):
    assert _eventually(lambda: _subscription_active(host), patience=120.0)
    created = _call(host, "POST", "/clients", json.dumps({"number": "m1"}))
    assert created["patient"].startswith("Patient/")
    assert _eventually(lambda: _mails_to(host, "client-m1@example.org") == 1)
    _call(host, "PUT", "/triggers/welcome_mail", json.dumps({"enabled": False}))
    try:
        quiet = _call(host, "POST", "/clients", json.dumps({"number": "m2"}))["patient"]
        # No mail because the trigger is off, not because the notification is late or lost: the application has
        # read the new client (its cursor names it) and sent nothing; m1, with the trigger on, was mailed.
        assert _eventually(lambda: _read_by_the_application(host, quiet))
        assert _mails_to(host, "client-m2@example.org") == 0 and _mails_to(host, "client-m1@example.org") == 1
    finally:
        _call(host, "PUT", "/triggers/welcome_mail", json.dumps({"enabled": True}))
