"""Runbook P.8 and the Q gate on the lab: a stopped, backed-up domain (part 1's steps) is validated and
migrated from the KT 1.3 server into prd2. A blocking finding imports nothing; a migration killed at two
points resumes to the same counts and hash totals without duplicates; a second run sends nothing; the
Q gate compares source and target and names a resource changed on the target; a target too slow for the
peak fails the capacity check; without the decisions nothing opens, and a NO-GO leads through R back to
KT 1.3 with identical data."""

import json
import os
import re
import sqlite3
import subprocess
import threading
import time
import uuid

import pytest

from kt2ops.migration.mapping import migrated, migration_mark, migration_system
from kt2ops.migration.profiles import profile_of, violations
from kt2ops.migration.rollback import remove_migrated
from kt2ops.migration.stage import TYPES_IN_ORDER
from kt2ops.migration.target import target_in
from kt2ops.migration.totals import target_counts
from tests.conftest import ROOT, run
from tests.integration.conftest import (
    Kt13App,
    burst,
    contract,
    copy_lab_inventory,
    eventually,
    expected_in_scope,
    gateway,
    host_of,
    kill_run_when,
    kt2_client,
    kt13_facts,
    kt13_sql,
    notifications,
    ok,
    playbook,
    psql,
    recap,
)
from tests.integration.test_70_comply import comply, failures

DOMAIN, KT13_DOMAIN = "ggz-noorderlicht", "NOORDERLICHT"
SENDER, READER = "noorderlicht-ecd", "mindfit-module"
EMERGENCY = "lab integration test, outside the production window"


def kt2(inventory, *args):
    return run(".venv/bin/kt2", *args, "-i", str(inventory), check=False, timeout=900)



def step(inventory, name, *args):
    return kt2(inventory, "run", name, "--domain", DOMAIN, *args)


def prd2_client(lab, inventory):
    return target_in(inventory, "prd2").client(DOMAIN)


@pytest.fixture(scope="module")
def stopped(secured, tmp_path_factory):
    """The domain after part 1 (L.1 .. P.2) in a private inventory, this machine exempt from prd2's ingress limit
    for the window (P.8L: the Q gate's capacity load needs it); afterwards undone and prd2 emptied."""
    inventory = copy_lab_inventory(tmp_path_factory.mktemp("migration") / "lab")
    try:
        ok(step(inventory, "L.1"))
        ok(step(inventory, "L.2"))
        for decision, value in (("O.2", "confirmed"), ("O.3", "confirmed"), ("O.4", "confirmed"), ("O.9", "GO"),
                                ("O.10", "GO")):
            ok(kt2(inventory, "runbook", "approve", "--domain", DOMAIN, "--decision", decision, "--value", value,
                   "--by", "A. de Vries", "--role", "care_provider", "--reason", "lab"))
        for name in ("O", "P.3", "P.4"):
            ok(step(inventory, name, "--emergency-reason", EMERGENCY))
        drain(secured)  # the applications read what is still queued for them
        for name in ("P.5", "P.6", "P.2", "P.8L"):
            ok(step(inventory, name))
        yield inventory
    finally:
        for name in ("P.8L", "P.6", "P.4", "P.3", "L.1"):
            step(inventory, name, "--undo", "--emergency-reason", EMERGENCY)
        client = prd2_client(secured, inventory)
        remove_migrated(client)
        client.close()
        prd2, kt13 = host_of(secured, "prd2"), host_of(secured, "kt13")
        contract(prd2, 8080, f"/_contract/domains/{DOMAIN}/traffic", "PUT", {"traffic": "open"})
        for app in (SENDER, READER):
            contract(kt13, 8070, f"/_contract/apps/{DOMAIN}/{app}/sending", "PUT", {"enabled": True})


def drain(lab):
    for reader in (Kt13App(lab, SENDER), Kt13App(lab, READER)):
        while entries := reader.claim(count=1000).json().get("entry"):
            for entry in entries:
                reader.settle(entry["resource"]["entry"][0]["resource"]["id"], "Success")


def mapped(work, kind):
    path = work / "checkpoint.sqlite"
    if not path.exists():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM mapped WHERE type = ?", (kind,)).fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()





@pytest.mark.lab
def test_the_programme_shows_the_domain_stopped_and_ready_for_p8(stopped):
    """`kt2 programme` on the inventory part 1 went through: the domain after P.8L with P.8 next and ready, the
    O decisions taken and Q's pending, still planned before its trial migration; the others not started."""
    rows = {r["domain"]: r for r in json.loads(ok(kt2(stopped, "programme", "--json")).stdout)["domains"]}
    domain = rows.pop(DOMAIN)
    assert domain["last_done"].startswith("P.8L ") and domain["next_step"].startswith("P.8 ")
    assert domain["blocked_by"] == []
    assert [d.split()[0] for d in domain["pending_decisions"]] == ["Q.7", "Q.8", "Q.11"]
    [finding] = domain["findings"]
    assert finding.startswith("planned for 2027-03-17 18:30 before its trial migration (M.2 not done)")
    assert all(r["last_done"] == "-" and r["next_step"].startswith("L.1 ") for r in rows.values())


@pytest.mark.lab
def test_a_blocking_finding_imports_nothing(secured, stopped):
    ghost = str(uuid.uuid4())
    bundle = {"resourceType": "Bundle", "type": "message", "entry": [
        {"resource": {"resourceType": "MessageHeader", "id": ghost, "timestamp": "2026-06-01T10:00:00+00:00",
                      "event": {"code": "CreateOrUpdateCarePlan"}}},
        {"resource": {"resourceType": "CarePlan", "id": "careplan-ghost", "patient": {"reference": "Patient/ghost"},
                      "activity": []}}]}
    kt13_sql(secured, "INSERT INTO messages (domain, id, event, sender, status, received, bundle) VALUES "
                  f"('{KT13_DOMAIN}', '{ghost}', 'CreateOrUpdateCarePlan', 'noorderlicht-ecd', 'Success', now(), "
                  f"'{json.dumps(bundle)}')")
    try:
        refused = step(stopped, "P.8")
    finally:
        kt13_sql(secured, f"DELETE FROM messages WHERE id = '{ghost}'")
    said = " ".join(refused.stdout.split())
    assert refused.returncode != 0 and "1 blocking finding(s)" in said and "nothing imported" in said
    work = stopped / ".runbook" / "migration" / DOMAIN / "prd2"
    assert f"(message {ghost})" in (work / "validation.txt").read_text()
    assert "Patient/ghost does not resolve" in (work / "validation.txt").read_text()
    client = prd2_client(secured, stopped)
    assert set(target_counts(client).values()) == {0}
    client.close()
    assert not (work / "checkpoint.sqlite").exists()


@pytest.mark.lab
def test_migration_killed_twice_resumes_to_matching_hash_totals(secured, stopped, tmp_path):
    work = stopped / ".runbook" / "migration" / DOMAIN / "prd2"
    prd2 = host_of(secured, "prd2")
    mails = {app: outbox(prd2, app) for app in (SENDER, READER)}
    small = ("-e", "kt2_batch_size=5")  # many Bundles, so that a kill lands midway
    kill_run_when(stopped, "P.8", DOMAIN, lambda: mapped(work, "Patient") > 0, *small)
    tasks = mapped(work, "Task")
    # The resumed run gets further, then dies too.
    kill_run_when(stopped, "P.8", DOMAIN, lambda: mapped(work, "Task") > tasks, *small)
    assert mapped(work, "Task") > tasks
    done = ok(step(stopped, "P.8", *small))
    summary = json.loads((work / "migration.json").read_text())
    validation = json.loads((work / "validation.json").read_text())
    assert summary["errors"] == 0 and summary["migrated"] == validation["in_scope"]
    assert validation["in_scope"] == expected_in_scope(secured, DOMAIN)
    assert not (work / "export.jsonl").exists() and not (work / "staging.sqlite").exists()

    client = prd2_client(secured, stopped)
    counts = target_counts(client)
    assert counts == validation["in_scope"]
    for kind in TYPES_IN_ORDER:  # no duplicates: every KT 1.3 reference once, as the migration guide writes it
        guide = {"use": "temp", "system": migration_system(kind)}
        marks = [i["value"] for r in client.search_all(kind, identifier=migrated(kind))
                 for i in r["identifier"] if i == {**guide, "value": i["value"]}]
        assert len(marks) == len(set(marks)) == counts[kind]
        # What the server stored satisfies the KT2 profiles by the project's validator too.
        assert [v for r in client.search_all(kind, identifier=migrated(kind)) for v in violations(r)] == [], kind
    assert f"P.8 {SENDER} Task:" in done.stdout  # progress lines, per application and type
    # Every migrated client was notified to the ehr's application (it reads all Patients), and P.6 had switched
    # its trigger functions off: no welcome mail, nor any other, to a migrated client.
    assert eventually(lambda: notifications(secured, "prd2", SENDER, "Patient") >= counts["Patient"])
    assert {app: outbox(prd2, app) for app in (SENDER, READER)} == mails

    again = ok(step(stopped, "P.8"))
    assert recap(again.stdout)["kt13.lab"]["changed"] == 0
    assert json.loads((work / "migration.json").read_text())["bundles"] == {}  # nothing sent the second time

    gate = ok(step(stopped, "Q"))
    said = " ".join(gate.stdout.split())
    assert "Q.2 hash totals of the migrated content: met" in said and "Q.1 error rate" in said
    # Judged by the KT 1.3 messages too, resource by resource (not only by the mapping's own hash totals).
    assert _content_check(work)["met"] and _content_check(work)["figures"]["compared"] == sum(counts.values())
    assert json.loads(kt2(stopped, "runbook", "status", "--domain", DOMAIN, "--json").stdout)["steps"]["Q"] == "done"
    runs = [r["result"] for r in json.loads(kt2(stopped, "runbook", "status", "--domain", DOMAIN, "--json").stdout)
            ["runs"] if r["step"] == "P.8"]
    assert runs == ["failed", "interrupted", "interrupted", "ok", "ok"]

    # A value changed on the target after the migration: the hash totals differ and name the resource.
    patient = next(client.search_all("Patient", identifier=migrated("Patient")))
    mark = migration_mark(patient)
    changed = client.call("PUT", f"Patient/{patient['id']}", json={**patient, "birthDate": "1999-09-09"},
                          headers={"If-Match": f'W/"{patient["meta"]["versionId"]}"'})
    assert changed.status_code == 200, changed.text
    client.close()
    failed = step(stopped, "Q")
    said = " ".join(failed.stdout.split())
    assert failed.returncode != 0 and f"Patient {mark}: content differs" in said
    content = _content_check(work)
    assert not content["met"] and content["figures"]["differences"] == [
        f"Patient {mark}: birthDate: KT 1.3 {patient.get('birthDate')!r}, KT 2.0 '1999-09-09'"]


@pytest.mark.lab
def test_p8_under_the_limit_rides_out_its_refusals_and_an_exemption_left_open_fails_comply(
        secured, stopped, tmp_path):
    """P.8L exempts this machine (the fixture ran it): no 503 however many requests, and comply passes while
    the runbook holds it. Ended (--undo), P.8 runs under the limit again, paced, and rides out the refusals
    that other traffic from this address provokes; Q's capacity check then says it cannot measure the peak.
    An exemption put back by hand fails B.5L. Then the window's exemption is opened again."""
    prd2 = host_of(secured, "prd2")
    exemptions = "/etc/nginx/kt2ops-limit-exempt.conf"
    line = f"{gateway(prd2)}/32 1; # runbook exemption for {DOMAIN}"
    assert line in run("podman", "exec", prd2["container"], "cat", exemptions).stdout
    assert all(a.status_code == 200 for a in burst(prd2))
    _, report, _ = comply(tmp_path, "-l", "prd2", inventory=stopped)
    assert ("B.5L", "prd2") not in failures(report)  # held open by the runbook for the window
    ok(step(stopped, "P.8L", "--undo"))  # as when a run is abandoned
    assert line not in run("podman", "exec", prd2["container"], "cat", exemptions).stdout
    assert any(a.status_code == 503 for a in burst(prd2))

    stop = threading.Event()

    def compete():  # another client at this address, spending the limit's budget while P.8 runs
        while not stop.is_set():
            burst(prd2, 10, settle=False)
            time.sleep(0.5)

    competitor = threading.Thread(target=compete)
    competitor.start()
    try:
        migrate_afresh(secured, stopped)
    finally:
        stop.set()
        competitor.join()
    summary = json.loads((stopped / ".runbook" / "migration" / DOMAIN / "prd2" / "migration.json").read_text())
    assert summary["rate_limit"] == 5 and summary["refused_by_limit"] > 0 and summary["errors"] == 0, summary
    assert summary["migrated"] == json.loads((stopped / ".runbook" / "migration" / DOMAIN / "prd2" /
                                              "validation.json").read_text())["in_scope"]
    unmeasured = " ".join(step(stopped, "Q").stdout.split())
    assert "Q.3 capacity at the expected peak (20 requests/s): UNMET" in unmeasured
    assert "exempt it for the migration window (runbook P.8L)" in unmeasured

    # An exemption that outlives its window (put back by hand after the runbook ended it) fails B.5L.
    run("podman", "exec", prd2["container"], "sh", "-c", f"echo '{line}' >> {exemptions} && nginx -s reload")
    try:
        code, report, _ = comply(tmp_path, "-l", "prd2", inventory=stopped)
        assert code != 0 and any(f"left open for domain {DOMAIN}" in m for m in failures(report)[("B.5L", "prd2")])
    finally:
        run("podman", "exec", prd2["container"], "sh", "-c", f"sed -i '/exemption for {DOMAIN}$/d' {exemptions} "
            "&& nginx -s reload")
    ok(step(stopped, "P.8L"))
    assert ok(step(stopped, "Q")).returncode == 0  # measured again, exempt


def _origins(client, kind):
    return {e["valueReference"]["reference"] for r in client.search_all(kind, identifier=migrated(kind))
            for e in r.get("extension", []) if e["url"] == "http://koppeltaal.nl/fhir/StructureDefinition/resource-origin"}


@pytest.mark.lab
def test_each_supplier_publishes_its_own_part_with_its_own_key_and_the_server_stamps_its_device(
        secured, stopped, tmp_path):
    """The module's supplier publishes its activity definitions from a machine of its own (its own
    checkpoint), then the ECD's supplier its part: its Tasks refer to the module's definitions by their
    migration identifier, which the server resolves. Together they are the whole domain, as Q measures it."""
    work = stopped / ".runbook" / "migration" / DOMAIN / "prd2"
    client = prd2_client(secured, stopped)
    remove_migrated(client)
    (work / "checkpoint.sqlite").unlink(missing_ok=True)
    kt13_facts(secured, KT13_DOMAIN, tmp_path)
    export = tmp_path / f"{KT13_DOMAIN}-oracle.jsonl"
    elsewhere = copy_lab_inventory(tmp_path / "module-supplier")
    keys = stopped / ".pki" / "prd2" / "apps" / DOMAIN

    def publish(inventory, app, key=None):
        return kt2(inventory, "migration", "publish", str(export), "--domain", DOMAIN, "--environment", "prd2",
                   "--application", app, "--key", str(keys / f"{key or app}.key"))

    module = ok(publish(elsewhere, READER))
    assert f"P.8 part of {READER} on prd2: " in module.stdout and "ActivityDefinition" in module.stdout
    assert export.exists()  # the supplier's own file is left alone; its copy in the work directory is gone
    assert target_counts(client)["ActivityDefinition"] > 0 and target_counts(client)["Task"] == 0
    ok(publish(stopped, SENDER))
    assert json.loads((work / "errors.json").read_text()) == []
    assert _origins(client, "ActivityDefinition") == {f"Device/{READER}"}
    for kind in ("Practitioner", "Patient", "Task"):
        assert _origins(client, kind) == {f"Device/{SENDER}"}, kind
    client.close()
    said = " ".join(ok(step(stopped, "Q")).stdout.split())
    assert "Q.2 hash totals of the migrated content: met" in said
    assert "Q.2 counts per type (FHIR _summary=count): met" in said

    wrong = publish(stopped, "not-an-app", key=SENDER)
    assert wrong.returncode == 2 and "--application not-an-app: not an application of ggz-noorderlicht" in wrong.stderr


def _until(condition, proc, what, seconds=300):
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, f"P.8 ended before {what}"
        assert time.monotonic() < deadline, f"P.8 did not reach {what} in {seconds} s"
        time.sleep(0.05)


@pytest.mark.lab
def test_p8_rides_out_a_restart_of_the_targets_database_and_fhir_server(secured, stopped):
    """PostgreSQL on prd2 restarts while Patients go in, then the FHIR server while Tasks do: the same run
    retries (saying so) and completes, with counts and hash totals equal and nothing twice."""
    work = stopped / ".runbook" / "migration" / DOMAIN / "prd2"
    client = prd2_client(secured, stopped)
    remove_migrated(client)
    (work / "checkpoint.sqlite").unlink(missing_ok=True)
    container = host_of(secured, "prd2")["container"]
    proc = subprocess.Popen([".venv/bin/kt2", "run", "P.8", "--domain", DOMAIN, "-i", str(stopped),
                             "-e", "kt2_batch_size=5", "-e", "kt2_concurrency=2"],
                            cwd=ROOT, env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _until(lambda: mapped(work, "Patient") > 0, proc, "the first Patients")
        run("podman", "exec", container, "systemctl", "restart", "postgresql")
        _until(lambda: mapped(work, "Task") > 0, proc, "the first Tasks")
        run("podman", "exec", container, "systemctl", "restart", "kt2-fhir-server")
        said, _ = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, said[-3000:]
    assert re.search(r"HTTP 50[02] for POST .*; retry \d+ in", said), said[-3000:]
    validation = json.loads((work / "validation.json").read_text())
    counts = target_counts(client)
    assert counts == validation["in_scope"]
    for kind in TYPES_IN_ORDER:
        marks = [migration_mark(r) for r in client.search_all(kind, identifier=migrated(kind))]
        assert len(marks) == len(set(marks)) == counts[kind], kind
    client.close()
    assert "Q.2 hash totals of the migrated content: met" in " ".join(ok(step(stopped, "Q")).stdout.split())


# Loaded by every Python process of the run it is put in reach of (PYTHONPATH): the migration's mapping
# keeping only the migration identifier of a Patient, as a careless change to mapping.py would do. (Dropping
# an element the KT2 profile requires, such as birthDate, validation now refuses before anything is sent.)
DROP_IDENTIFIERS = """
import kt2ops.migration.mapping as mapping
original = mapping.to_fhir
def to_fhir(kind, *args, **kwargs):
    resource = original(kind, *args, **kwargs)
    if kind == "Patient":
        resource["identifier"] = [i for i in resource["identifier"] if i.get("use") == "temp"]
    return resource
mapping.to_fhir = to_fhir
"""


def outbox(host, app):
    return contract(host, 8070, f"/_contract/apps/{DOMAIN}/{app}/outbox")[1]["mails"]


@pytest.mark.lab
def test_without_p6_every_migrated_client_gets_a_welcome_mail(secured, stopped):
    """The twin of the quiet migration above: P.6 undone (trigger functions on), the same P.8 makes the ehr's
    application mail every migrated client, one mail each, as their notifications arrive."""
    prd2 = host_of(secured, "prd2")
    before = len(outbox(prd2, SENDER))
    ok(step(stopped, "P.6", "--undo", "--emergency-reason", EMERGENCY))
    try:
        migrate_afresh(secured, stopped)
        patients = len(migrated_patients(secured, stopped))
        assert eventually(lambda: len(outbox(prd2, SENDER)) >= before + patients)
        time.sleep(3)  # a second mail to anyone would show now
        assert len(outbox(prd2, SENDER)) == before + patients
    finally:
        ok(step(stopped, "P.6"))


_MUTATED = []  # holds True while prd2 holds what a mutated P.8 (a test's sitecustomize) migrated


def migrate_afresh(secured, inventory, env=None):
    """Remove what P.8 migrated and its checkpoint, then run P.8 again (with the given environment)."""
    client = prd2_client(secured, inventory)
    remove_migrated(client)
    client.close()
    (inventory / ".runbook" / "migration" / DOMAIN / "prd2" / "checkpoint.sqlite").unlink()
    proc = ok(run(".venv/bin/kt2", "run", "P.8", "--domain", DOMAIN, "-i", str(inventory), check=False,
                  timeout=900, env=env))
    _MUTATED[:] = [True] if env else []
    return proc


def migrated_cleanly(secured, inventory):
    """prd2 holding what P.8 migrates, Q met. A mutation test leaves its own result behind (the next one
    migrates afresh anyway); a test that needs the real one migrates again here."""
    if _MUTATED:
        migrate_afresh(secured, inventory)
        assert ok(step(inventory, "Q")).returncode == 0


@pytest.mark.lab
def test_a_mapping_that_drops_a_field_fails_q2_naming_resource_and_element(secured, stopped, tmp_path):
    work = stopped / ".runbook" / "migration" / DOMAIN / "prd2"
    facts = kt13_facts(secured, KT13_DOMAIN, tmp_path)  # what KT 1.3 states, not what the target holds now
    patients = sorted(m for m in map(migration_mark, migrated_patients(secured, stopped)) if facts[m]["identifier"])
    (tmp_path / "sitecustomize.py").write_text(DROP_IDENTIFIERS)
    try:
        migrate_afresh(secured, stopped, env={"PYTHONPATH": str(tmp_path)})
        assert all(len(p["identifier"]) == 1 for p in migrated_patients(secured, stopped))  # the mutation took effect
        failed = step(stopped, "Q")
        said = " ".join(failed.stdout.split())
        # The mapping's own hash totals agree with themselves; the content check, from the KT 1.3 messages,
        # does not, and names each Patient and the element.
        assert failed.returncode != 0 and "Q.2 hash totals of the migrated content: met" in said
        figures = _content_check(work)["figures"]
        assert figures["differing"] == len(patients) > 20 and len(figures["differences"]) == 20  # the first listed
        named = {d.partition(": identifier: KT 1.3 ")[0] for d in figures["differences"]}
        assert named <= {f"Patient {m}" for m in patients} and len(named) == 20
        assert all(d.endswith(", KT 2.0 []") for d in figures["differences"])
    finally:
        _MUTATED[:] = [True]  # even when P.8 itself failed half-way


# P.8 as it was before production's transaction rules: it leaves resource-origin to the server.
NO_ORIGIN = """
import kt2ops.migration.migrate as migrate
original = migrate.Migration.__init__
def __init__(self, *args, **kwargs):
    original(self, *args, **kwargs)
    self.set_origin = False
migrate.Migration.__init__ = __init__
"""


@pytest.mark.lab
def test_resources_sent_without_resource_origin_fail_the_q_gate_under_production_rules(secured, stopped, tmp_path):
    """prd2 runs the reference rules (entries stored as sent): a P.8 that leaves resource-origin to the server
    is accepted, and the Q gate, reading every migrated resource back, refuses the result."""
    (tmp_path / "sitecustomize.py").write_text(NO_ORIGIN)
    try:
        migrate_afresh(secured, stopped, env={"PYTHONPATH": str(tmp_path)})
        assert all(not p.get("extension") for p in migrated_patients(secured, stopped))  # the mutation took effect
        failed = step(stopped, "Q")
        said = " ".join(failed.stdout.split())
        assert failed.returncode != 0, said
        declared = "Q.2 every migrated resource declares its KT2 profile and names the Device of its publisher"
        assert f"{declared}: UNMET" in said
        assert "no resource-origin" in said
    finally:
        _MUTATED[:] = [True]


def _transaction_rules(inventory, rules):
    """prd2's FHIR server under the given transaction rules, as the inventory declares them."""
    facts = inventory / "group_vars" / "prd2.yml"
    facts.write_text(re.sub(r"transaction_rules: \w+", f"transaction_rules: {rules}", facts.read_text()))
    ok(playbook("-i", str(inventory), "playbooks/provision.yml", "-l", "prd2.lab"))


@pytest.mark.lab
def test_p8_is_correct_under_kts_transaction_rules_too(secured, stopped):
    """Under `kt` the server stamps each entry's resource-origin (and refuses a client's): P.8 leaves it to
    the server there, and the Q gate finds every resource with its publisher's Device and its profile. A
    transaction's conditional URL is narrowed to the caller's reach there, as a plain conditional create is."""
    _transaction_rules(stopped, "kt")
    try:
        _conditional_urls_in_a_transaction_are_narrowed(secured)
        migrate_afresh(secured, stopped)
        said = " ".join(ok(step(stopped, "Q")).stdout.split())
        assert "Q.2 every migrated resource declares its KT2 profile and names the Device of its publisher: met" in said
        assert "Q.2 hash totals of the migrated content: met" in said
        client = prd2_client(secured, stopped)
        assert _origins(client, "Patient") == {f"Device/{SENDER}"}
        client.close()
        assert all(p["meta"]["profile"] == [profile_of("Patient")] for p in migrated_patients(secured, stopped))
    finally:
        # What P.8 migrated under `kt` stays: the same content, each resource naming its publisher's Device, as
        # the tests after this one need it (a run under reference would only repeat the earlier ones).
        _transaction_rules(stopped, "reference")


def _conditional_urls_in_a_transaction_are_narrowed(lab):
    """Two modules of another domain on prd2, each reaching its own ActivityDefinitions only: the second's
    conditional creates in a transaction do not find the first's (so it creates its own), as its search does
    not; by `url` (searched per URL) and by `identifier` (the one-query look-up P.8's Bundles take)."""
    domain, first, second = "ggz-groot-rivierenland", "rivierenland-module-02", "rivierenland-module-03"
    system = "https://module.example/id"

    def definition(app, key):
        return {"resourceType": "ActivityDefinition", "meta": {"profile": [profile_of("ActivityDefinition")]},
                "url": f"https://module.example/ad/{key}", "identifier": [{"system": system, "value": key}],
                "title": "Narrowed", "status": "active",
                "extension": [{"url": "http://koppeltaal.nl/fhir/StructureDefinition/KT2EndpointExtension",
                               "valueReference": {"reference": f"Endpoint/{app}"}}]}

    def created_in_a_transaction(client, app, key, match):
        answer = client.fhir("POST", "", json={"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": definition(app, key), "request": {"method": "POST", "url": "ActivityDefinition",
                                                           "ifNoneExist": match}}]})
        assert answer.status_code == 200, answer.text
        return answer.json()["entry"][0]["response"]["status"]

    owner, other = (kt2_client(lab, "prd2", domain, app) for app in (first, second))
    by_identifier, by_url = uuid.uuid4().hex, uuid.uuid4().hex
    for key in (by_identifier, by_url):
        assert owner.fhir("POST", "ActivityDefinition", json=definition(first, key)).status_code == 201
        assert other.fhir("GET", "ActivityDefinition", params={"identifier": f"{system}|{key}"}).json()["total"] == 0
    match = f"ActivityDefinition?identifier={system}|{by_identifier}"
    # The owner's own is found (200, nothing created): the look-up finds it, so the module's case can fail.
    assert created_in_a_transaction(owner, first, by_identifier, match).startswith("200")
    assert created_in_a_transaction(other, second, by_identifier, match).startswith("201")  # its own
    by_url_match = f"url=https://module.example/ad/{by_url}"
    assert created_in_a_transaction(other, second, by_url, by_url_match).startswith("201")
    assert _token_lookups(lab, other, [definition(second, uuid.uuid4().hex) for _ in range(10)]) == 1
    for client in (owner, other):
        client.close()


def _token_lookups(lab, client, definitions):
    """How many token-index queries prd2's database runs for one transaction creating `definitions`, each
    conditionally by its identifier: HAPI's look-up resolves them all in one, narrowed or not."""
    container = host_of(lab, "prd2")["container"]
    log = "$(ls -t /var/log/postgresql/*.log | head -1)"
    lines = int(run("podman", "exec", container, "bash", "-c", f"wc -l < {log}").stdout)
    psql(container, "ALTER SYSTEM SET log_statement = 'all'")
    psql(container, "SELECT pg_reload_conf()")
    try:
        answer = client.fhir("POST", "", json={"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": d, "request": {"method": "POST", "url": "ActivityDefinition",
                                        "ifNoneExist": f"ActivityDefinition?identifier={d['identifier'][0]['system']}|"
                                                       f"{d['identifier'][0]['value']}"}} for d in definitions]})
        assert answer.status_code == 200, answer.text
    finally:
        psql(container, "ALTER SYSTEM RESET log_statement")
        psql(container, "SELECT pg_reload_conf()")
    logged = run("podman", "exec", container, "bash", "-c", f"tail -n +{lines + 1} {log}").stdout.lower()
    return sum("select" in line and "hfj_spidx_token" in line for line in logged.splitlines())


def migrated_patients(secured, inventory):
    client = prd2_client(secured, inventory)
    try:
        return list(client.search_all("Patient", identifier=migrated("Patient")))
    finally:
        client.close()


def _content_check(work):
    """Q.2's content check as the last Q run recorded it in q-gate.json."""
    gate = json.loads((work / "q-gate.json").read_text())
    return next(c for c in gate if c["title"].startswith("content as KT 1.3 states it"))


# A zone of its own plus a limit_req inside the site's server block: nginx applies a server's own limit_req
# directives and ignores any inherited from the http level, so a conf.d line alone would not slow the site.
SLOW_ZONE = "limit_req_zone $server_name zone=kt2slow:1m rate=4r/s;\n"
SLOW_SITE = "s|^    client_max_body_size .*|&\\n    limit_req zone=kt2slow burst=100000;|"


@pytest.mark.lab
def test_a_target_made_too_slow_fails_the_capacity_check(secured, stopped):
    """nginx on prd2 is limited to 4 requests per second (requests queue): the domain's peak of 20 cannot
    be carried, and the capacity check says so with its figures."""
    container = host_of(secured, "prd2")["container"]
    run("podman", "exec", container, "bash", "-c", f"cp /etc/nginx/conf.d/kt2ops.conf /root/kt2ops.conf.orig && "
        f"printf '{SLOW_ZONE}' > /etc/nginx/conf.d/00-slow.conf && sed -i '{SLOW_SITE}' /etc/nginx/conf.d/kt2ops.conf "
        "&& grep -q kt2slow /etc/nginx/conf.d/kt2ops.conf && nginx -t && systemctl reload nginx")
    try:
        slow = step(stopped, "Q", "-e", "kt2_capacity_seconds=3")
    finally:
        run("podman", "exec", container, "bash", "-c", "mv /root/kt2ops.conf.orig /etc/nginx/conf.d/kt2ops.conf && "
            "rm -f /etc/nginx/conf.d/00-slow.conf && nginx -t && systemctl reload nginx")
    said = " ".join(slow.stdout.split())
    assert slow.returncode != 0 and "Q.3 capacity at the expected peak (20 requests/s for 3 s): UNMET" in said
    assert "attempt 2 of 2" in said and "unmet_before" in said  # measured again, and failed again
    achieved = float(re.search(r"achieved_rps ([0-9.]+)", said).group(1))
    assert achieved < 19


@pytest.mark.lab
def test_migration_whose_backups_were_deleted_fails_b7(secured, stopped, tmp_path):
    """The domain's L.2 and P.2 backups deleted after its migration ran: B.7 fails on prd2 naming the steps
    that ran without one; the backups put back, it passes again."""
    backups = stopped / ".runbook" / "backups" / DOMAIN
    assert sorted(p.parent.name.split("-")[0] for p in backups.glob("*/manifest.json")) == ["L.2", "P.2"]
    assert kt2(stopped, "comply", "-l", "prd2", "--out", str(tmp_path / "before")).returncode == 0
    aside = tmp_path / "deleted"
    backups.rename(aside)
    try:
        deleted = kt2(stopped, "comply", "-l", "prd2", "--out", str(tmp_path / "deleted-report"))
    finally:
        aside.rename(backups)
    report = json.loads((tmp_path / "deleted-report" / "report.json").read_text())
    failing = {(c["id"], env): [f["message"] for f in r["findings"]]
               for c in report["controls"] for env, r in c["results"].items() if r["status"] == "fail"}
    assert deleted.returncode == 1 and failing == {("B.7", "prd2"): [
        f"domain {DOMAIN}: migration steps ran (P.3, P.4, P.5, P.6, P.2, P.8L, P.8) without an intact, restore-tested "
        "backup"]}
    assert kt2(stopped, "comply", "-l", "prd2", "--out", str(tmp_path / "after")).returncode == 0


def decide(inventory, decision, value, role="care_provider"):
    return kt2(inventory, "runbook", "approve", "--domain", DOMAIN, "--decision", decision, "--value", value,
               "--by", "A. de Vries", "--role", role, "--reason", "lab: post-migration meeting")


def kt13_rows(lab):
    return int(kt13_sql(lab, f"SELECT count(*) FROM messages WHERE domain = '{KT13_DOMAIN}'"))


@pytest.mark.lab
def test_no_go_rolls_back_to_kt13_with_identical_data(secured, stopped):
    migrated_cleanly(secured, stopped)
    kt13, prd2 = host_of(secured, "kt13"), host_of(secured, "prd2")
    rows = kt13_rows(secured)
    # Before the decisions nothing after Q opens: Q.10 names every record it lacks, Q.8 is the care provider's,
    # and cleanup cannot start (the GO path itself runs end to end in test_84_journey).
    early = " ".join(step(stopped, "Q.10", "--emergency-reason", EMERGENCY).stdout.split())
    assert "Q.10 needs Q.9 done first" in early and "Q.10 needs Q.8" in early and "Q.10 needs Q.7" in early
    assert decide(stopped, "Q.8", "signed", role="it_supplier").returncode == 2
    too_early = " ".join(step(stopped, "S.5").stdout.split())
    assert "S.5 needs S.4 done first" in too_early
    assert contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/depth")[0] == 200
    ok(decide(stopped, "Q.7", "NO-GO"))
    refused = step(stopped, "Q.9")
    assert refused.returncode != 0 and "Q.9 needs Q.7" in " ".join(refused.stdout.split())
    # KT 1.3 lost data after the backup (an operator's mistake): R must bring it back from P.2.
    kt13_sql(secured, f"DELETE FROM messages WHERE domain = '{KT13_DOMAIN}' AND seq IN (SELECT seq FROM messages "
                  f"WHERE domain = '{KT13_DOMAIN}' ORDER BY seq DESC LIMIT 25)")
    assert kt13_rows(secured) == rows - 25
    ok(step(stopped, "R"))
    runs = json.loads(kt2(stopped, "runbook", "status", "--domain", DOMAIN, "--json").stdout)["runs"]
    rollback = [r for r in runs if r["step"] == "R"][-1]["artefacts"]
    assert rollback["kt13_vs_backup"] == "restored, identical" and rollback["left"] == 0
    migrated = json.loads((stopped / ".runbook" / "migration" / DOMAIN / "prd2" / "validation.json").read_text())
    assert rollback["removed"] == migrated["in_scope"]
    assert kt13_rows(secured) == rows
    client = prd2_client(secured, stopped)
    assert set(target_counts(client).values()) == {0}
    client.close()
    assert contract(prd2, 8080, f"/_contract/domains/{DOMAIN}/traffic")[1] == {"traffic": "closed"}
    assert contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/freeze")[1] == {"frozen": False}
    assert Kt13App(secured, SENDER).post(f"Patient/after-r-{uuid.uuid4().hex[:8]}")[1].status_code == 201
    assert contract(kt13, 8070, f"/_contract/apps/{DOMAIN}/{SENDER}/triggers/welcome_mail")[1] == {"enabled": True}
    again = ok(step(stopped, "R"))  # nothing left to do
    assert recap(again.stdout)["kt13.lab"]["changed"] == 0
