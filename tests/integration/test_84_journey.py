"""The README's one command for a domain's whole journey (`kt2 journey`), end to end on the lab, for a
generated domain under live traffic until the stop: provision, appendix B, the trial migration on mgr2
and its cleanup, part 1 of the runbook, the migration to prd2, the Q gate, opening production, cleanup S
and the compliance report. The journey pauses after S.4 so that each step is judged by its effect on the
lab, not by the tool's word: counts and hash totals match, no welcome mail reached a migrated client and a
new client gets one (Q.9), mgr2 holds nothing of the domain (S.1), the applications no longer send to KT 1.3
(S.2), KT 1.3 refuses the domain's traffic while it still holds it (S.3), the archive opens and holds
exactly what KT 1.3 held (S.4); then KT 1.3 no longer knows the domain (S.5) and the audit trail verifies."""

import gzip
import hashlib
import io
import json
import tarfile
import threading
import time
import uuid
from datetime import UTC, datetime

import pyrage
import pytest

from kt2ops.migration.rollback import remove_migrated
from kt2ops.migration.target import target_in
from kt2ops.secrets import age_identity, inventory_secret_dirs, plain_secrets, read_secret, vaulted_files
from tests.conftest import run
from tests.integration.conftest import (
    Kt13App,
    changed_tasks,
    contract,
    copy_lab_inventory,
    eventually,
    expected_in_scope,
    host_of,
    kt13_base,
    kt13_export,
    kt13_sql,
    nothing_changed,
    notifications,
    ok,
    outcome,
    playbook,
)
from tests.integration.oracle import Kt2Side, kt2_counts, kt13_holdings, sample_differences

DOMAIN, KT13_DOMAIN, SENDER = "jeugdzorg-delta", "JZDELTA", "delta-ecd"
APPS = {"delta-portaal": ("welcome_mail", "sms_reminder"), "delta-ecd": ("welcome_mail",)}
JOURNEY_STEPS = ("M.2", "P.2", "P.8L", "P.8", "Q", "Q.9", "Q.10", "S.1", "S.2", "S.3", "S.4", "S.5")


def journey(inventory, *args):
    return run(".venv/bin/kt2", "journey", "-i", str(inventory), "--domain", DOMAIN, "--approve-as", "Lab e2e test",
               "--emergency-reason", "lab e2e test outside the production window", *args, check=False, timeout=3000)



def kt13_rows(lab):
    """What KT 1.3 holds of the domain, read from its database: id and bundle per message, in order."""
    sql = (f"SELECT json_build_object('id', id, 'bundle', bundle) FROM messages WHERE domain = '{KT13_DOMAIN}' "
           "ORDER BY seq")
    return [json.loads(line) for line in kt13_sql(lab, sql).splitlines() if line.strip()]


def open_archive(inventory):
    """S.4's archive opened with age and tar directly (not the tool's reader): the encrypted package and each
    file checked against the manifest; returns the archived messages."""
    folder = inventory / ".runbook" / "archives" / DOMAIN
    package = folder / f"S4-{KT13_DOMAIN}.tar.age"
    manifest = json.loads((folder / f"S4-{KT13_DOMAIN}.manifest.json").read_text())
    encrypted = package.read_bytes()
    assert hashlib.sha256(encrypted).hexdigest() == manifest["encrypted"]["sha256"]
    key = inventory / ".runbook" / "keys" / DOMAIN / "S4-archive.key"
    identity = age_identity(key)
    with tarfile.open(fileobj=io.BytesIO(pyrage.decrypt(encrypted, [identity]))) as tar:
        files = {member.name: tar.extractfile(member).read() for member in tar.getmembers() if member.isfile()}
    assert {entry["path"]: entry["sha256"] for entry in manifest["files"]} == {
        name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    (log,) = files.values()
    return [json.loads(line) for line in gzip.decompress(log).splitlines() if line.strip()]


def target(lab, inventory, environment):
    return target_in(inventory, environment)


class LiveTraffic:
    """An application of the domain posting to KT 1.3 until it is refused (P.4)."""

    def __init__(self, lab):
        self.app = Kt13App(lab, SENDER, domain=KT13_DOMAIN)
        self.statuses: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._post)

    def _post(self):
        while not self.stop.is_set():
            self.statuses.append(self.app.post(f"Patient/live-{uuid.uuid4().hex[:8]}")[1].status_code)
            time.sleep(0.5)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def programme_shows_where_each_domain_stands(inventory, tmp_path):
    """`kt2 programme` after the journey: its domain live since today, with its trial's figures and its
    monitoring as Q.11 left it; the lab's other domains not started, at their planned dates; the HTML page in a
    browser says the same."""
    page = tmp_path / "programme.html"
    shown = json.loads(run(".venv/bin/kt2", "programme", "-i", str(inventory), "--json", "--html", str(page)).stdout)
    rows = {r["domain"]: r for r in shown["domains"]}
    live = rows.pop(DOMAIN)
    trial = json.loads((inventory / ".runbook" / "migration" / DOMAIN / "mgr2" / "trial.json").read_text())
    today = datetime.now(UTC).date()
    assert live["last_done"].startswith("S.5 ") and live["next_step"] is None and live["blocked_by"] == []
    assert datetime.fromisoformat(live["live_since"]).date() == today
    # The journey lowers the heightened monitoring at once (Q.11, approved as "Lab e2e test").
    assert live["monitoring"] == f"lowered {today} (Q.11, Lab e2e test)"
    assert live["trial"]["error_rate_percent"] == trial["error_rate_percent"]
    assert live["estimate"]["p8_seconds"] == trial["estimated_production_seconds_exempt"]
    assert live["findings"] == [] and live["proposed"] is None
    assert rows and all(r["last_done"] == "-" and r["next_step"].startswith("L.1 ") and r["in_window"]
                        and r["trial"] is None for r in rows.values())
    dom = run("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", f"file://{page}").stdout
    assert f'<tr id="{DOMAIN}">' in dom and f"live since {today}" in dom
    assert all(f'<tr id="{domain}">' in dom for domain in rows)
    assert dom.count('<td class="inside">') == len(rows)


def assert_no_secret_in_plain_text(inventory, output: str) -> None:
    """No key, identity or password the journey used shows in its output or lies in plain text anywhere in the
    inventory (reports, logs, the audit trail, filed bundles): each is looked for by a line of its secret part."""
    secret_files = set(vaulted_files(*inventory_secret_dirs(inventory)))
    values = []
    for path in secret_files:
        text = read_secret(path).decode()
        body = [line for line in text.splitlines() if line and not line.startswith("-----")]
        values.append(body[len(body) // 2] if text.startswith("-----") else text.strip())
    assert len(values) > 20 and all(len(v) >= 30 for v in values)
    assert [v for v in values if v in output] == []
    assert list(plain_secrets(inventory)) == []
    for path in inventory.rglob("*"):
        if path.is_file() and path not in secret_files and not path.name.endswith(".age") \
                and path.stat().st_size <= 8 << 20:
            content = path.read_bytes().decode(errors="replace")
            assert [v for v in values if v in content] == [], path


@pytest.mark.lab
def test_a_domain_travels_from_kt13_to_kt2_with_one_command(secured, tmp_path):
    inventory = copy_lab_inventory(tmp_path / "lab")
    prd2, kt13 = host_of(secured, "prd2"), host_of(secured, "kt13")
    mails = {app: contract(prd2, 8070, f"/_contract/apps/{DOMAIN}/{app}/outbox")[1]["mails"] for app in APPS}
    newcomer = None
    try:
        with LiveTraffic(secured) as traffic:
            paused = ok(journey(inventory, "--stop-after", "S.4"))
        assert 201 in traffic.statuses and traffic.statuses[-1] == 503  # live until P.4 stopped it
        assert "Stopped after S.4" in paused.stdout and "S.5" not in paused.stdout

        # Q met, judged by the test's own reads (oracle.py), not by the tool's q-gate.json: KT 2.0 holds per type
        # what KT 1.3 holds in scope, and a sample of clients, with all that is theirs, element by element.
        work = inventory / ".runbook" / "migration" / DOMAIN
        prd2_client = target(secured, inventory, "prd2").client(DOMAIN)
        expected = expected_in_scope(secured, DOMAIN)
        assert kt2_counts(prd2_client) == expected and expected["CareTeam"] > 0
        compared, differing = sample_differences(kt13_holdings(kt13_export(secured, KT13_DOMAIN)),
                                                 Kt2Side(prd2_client, kt13_base(KT13_DOMAIN)))
        assert differing == [] and compared > 24  # each client with at least one task and its definition
        validation = json.loads((work / "prd2" / "validation.json").read_text())
        assert validation["in_scope"] == expected
        gate = json.loads((work / "prd2" / "q-gate.json").read_text())
        assert all(check["met"] for check in gate)  # and the tool's own gate agrees
        # Each application reaches only Tasks of its own origin: together they reach every migrated Task, as
        # each was published on behalf of the application that sent its care plan to KT 1.3.
        reached = 0
        for app in APPS:
            app_client = target(secured, inventory, "prd2").client(DOMAIN, app)
            reached += app_client.count("Task")
            app_client.close()
        assert reached == validation["in_scope"]["Task"]
        trial = json.loads((work / "mgr2" / "trial.json").read_text())
        assert trial["error_rate_percent"] == 0 and trial["estimated_production_seconds"] > 0

        # Every migrated client was notified to both applications (their roles read all Patients), and P.6 had
        # switched their trigger functions off: no welcome mail (or any other) to a migrated client.
        for app in APPS:
            assert eventually(lambda a=app: notifications(secured, "prd2", a, "Patient")
                              >= validation["in_scope"]["Patient"])
            assert contract(prd2, 8070, f"/_contract/apps/{DOMAIN}/{app}/outbox")[1]["mails"] == mails[app]
        # Q.9: every trigger P.6 switched off is on again on prd2 (on KT 1.3, being left, they stay off), and a
        # client registered now gets its welcome mail.
        for app, triggers in APPS.items():
            assert contract(prd2, 8070, f"/_contract/apps/{DOMAIN}/{app}/triggers")[1] == dict.fromkeys(triggers, True)
            assert contract(kt13, 8070, f"/_contract/apps/{DOMAIN}/{app}/triggers")[1] == dict.fromkeys(triggers,
                                                                                                      False)
        status, answer = contract(prd2, 8070, f"/_contract/apps/{DOMAIN}/delta-ecd/clients", "POST",
                                  {"given": "Nieuw", "number": uuid.uuid4().hex})
        assert status == 201, answer
        newcomer = answer["patient"]

        def outbox():
            return contract(prd2, 8070, f"/_contract/apps/{DOMAIN}/delta-ecd/outbox")[1]["mails"]
        assert eventually(lambda: len(outbox()) > len(mails["delta-ecd"]))
        time.sleep(3)  # a second mail would show now
        assert len(outbox()) == len(mails["delta-ecd"]) + 1
        # S.1: mgr2 holds nothing of the domain.
        mgr2_client = target(secured, inventory, "mgr2").client(DOMAIN)
        assert set(kt2_counts(mgr2_client).values()) == {0}
        mgr2_client.close()
        # The KT 1.3 facts Q.2 compared (names, birth dates) are gone: prd2's once Q.10 opened the domain,
        # mgr2's with the trial's content (S.1); the reports stay.
        assert not (work / "prd2" / "source-facts.sqlite").exists() and (work / "prd2" / "q-gate.json").exists()
        assert not (work / "mgr2" / "source-facts.sqlite").exists()
        # S.2: the applications no longer send to KT 1.3, and nothing waits there for them.
        rows = kt13_rows(secured)
        for app in APPS:
            assert contract(kt13, 8070, f"/_contract/apps/{DOMAIN}/{app}/sending")[1] == {"enabled": False}
            status, refused = contract(kt13, 8070, f"/_contract/apps/{DOMAIN}/{app}/clients", "POST", {})
            assert status == 503 and "sending stopped" in str(refused)
        depth = contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/depth")
        assert depth[0] == 200 and (depth[1]["queued"], depth[1]["in_flight"]) == (0, 0)
        # S.3: KT 1.3 still holds the domain but takes no message in and hands none out.
        kt13_app = Kt13App(secured, SENDER, domain=KT13_DOMAIN)
        inbound = kt13_app.post(f"Patient/after-s3-{uuid.uuid4().hex[:8]}")[1]
        assert inbound.status_code == 503 and "inbound traffic" in inbound.text
        processing = kt13_app.claim()
        assert processing.status_code == 503 and "processing" in processing.text
        assert kt13_rows(secured) == rows
        # S.4: the archive opens, verifies against its manifest, and holds exactly what KT 1.3 holds.
        archived = open_archive(inventory)
        assert [{"id": m["id"], "bundle": m["bundle"]} for m in archived] == rows and len(rows) > 400

        finished = ok(journey(inventory))
        assert "S.4: done already" in finished.stdout and f"{DOMAIN} is on KT 2.0" in finished.stdout
        assert "site: passed at" in finished.stdout and "== playbook" not in finished.stdout  # nothing changed
        # Declared state and runbook state agree: provisioning what the journey left declares nothing to change
        # (KT 1.3 without the domain, prd2 open, mgr2 clean) on any host.
        check = playbook("-i", str(inventory), "playbooks/provision.yml", "--check", "--diff")
        assert check.returncode == 0, outcome(check)
        assert nothing_changed(check), changed_tasks(check)
        # S.5: KT 1.3 no longer knows the domain.
        assert contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/depth")[0] == 404
        assert kt13_app.post("Patient/late")[1].status_code == 404
        assert "chain intact" in run(".venv/bin/kt2", "audit", "verify", "-i", str(inventory)).stdout
        status = json.loads(run(".venv/bin/kt2", "runbook", "status", "-i", str(inventory), "--domain", DOMAIN,
                                "--json").stdout)["steps"]
        assert {s: status[s] for s in JOURNEY_STEPS} == dict.fromkeys(JOURNEY_STEPS, "done")
        report = json.loads((inventory / ".runbook" / "comply" / DOMAIN / "report.json").read_text())
        assert report["summary"]["fail"] == 0, report["summary"]
        assert_no_secret_in_plain_text(inventory, paused.stdout + paused.stderr + finished.stdout + finished.stderr)
        programme_shows_where_each_domain_stands(inventory, tmp_path)
    finally:
        if contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/depth")[0] == 404:
            playbook("playbooks/domains.yml", "-l", "kt13.lab")
        contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/freeze", "PUT", {"frozen": False})
        contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/traffic", "PUT", {"inbound_open": True,
                                                                              "processing_on": True})
        for environment in ("prd2", "mgr2"):
            fhir = target(secured, inventory, environment).client(DOMAIN)
            remove_migrated(fhir)
            if newcomer and environment == "prd2":
                fhir.call("DELETE", newcomer)
            fhir.close()
        contract(prd2, 8080, f"/_contract/domains/{DOMAIN}/traffic", "PUT", {"traffic": "open"})
        for app, triggers in APPS.items():
            contract(kt13, 8070, f"/_contract/apps/{DOMAIN}/{app}/sending", "PUT", {"enabled": True})
            for trigger in triggers:
                for host in (kt13, prd2):
                    contract(host, 8070, f"/_contract/apps/{DOMAIN}/{app}/triggers/{trigger}", "PUT",
                             {"enabled": True})
