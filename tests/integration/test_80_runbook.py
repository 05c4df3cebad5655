"""Runbook part 1 on the lab, for a domain under live traffic: L.1, L.2, the decisions and the O gate,
P.3-P.6 and P.2 in runbook order; the refusals (P.3 before GO, P.2 before the drain check, a production
step outside a window, a corrupted backup, an edited audit record); a P.2 killed midway and run again;
then the undo of every step (rollback R)."""

import json
import re
import threading
import time
import uuid

import pytest

from tests.conftest import run
from tests.integration.conftest import Kt13App, contract, copy_lab_inventory, host_of, kill_run_when, ok

DOMAIN, KT13_DOMAIN = "ggz-noorderlicht", "NOORDERLICHT"
SENDER, READER = "noorderlicht-ecd", "mindfit-module"
EMERGENCY = "lab integration test, outside the production window"
# A production calendar whose every window falls in a closed period: any moment is outside a window.
NO_WINDOW = {"kt2_maintenance": {"windows": [{"every": "month", "weekday": "wednesday", "nth": 3, "from": "18:00",
                                              "to": "23:00"}],
                                 "closed": [{"from": "2000-01-01", "to": "2099-12-31", "reason": "change freeze"}]}}


def kt2(inventory, *args, check=False):
    return run(".venv/bin/kt2", *args, "-i", str(inventory), check=check, timeout=900)


def step(inventory, name, *args):
    return kt2(inventory, "run", name, "--domain", DOMAIN, *args)



class Traffic:
    """An application posting messages for the domain, and the applications reading them, meanwhile."""

    def __init__(self, lab):
        self.sender = Kt13App(lab, SENDER)
        self.readers = [Kt13App(lab, READER), Kt13App(lab, SENDER)]
        self.results: list[int] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._post), threading.Thread(target=self._read)]

    def _post(self):
        while not self.stop.is_set():
            _, response = self.sender.post(f"Patient/live-{uuid.uuid4().hex[:8]}")
            self.results.append(response.status_code)
            time.sleep(0.2)

    def _read(self):
        while not self.stop.is_set():
            for reader in self.readers:
                response = reader.claim(count=200)
                if response.status_code != 200:
                    continue
                for entry in response.json()["entry"]:
                    reader.settle(entry["resource"]["entry"][0]["resource"]["id"], "Success")
            time.sleep(0.3)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join()


@pytest.fixture(scope="module")
def inventory(secured, tmp_path_factory):
    """A private copy of the lab inventory for the module: its own runbook state and audit trail."""
    return copy_lab_inventory(tmp_path_factory.mktemp("runbook") / "lab")


@pytest.fixture
def restored_afterwards(secured):
    """Whatever happens in the test, the domain is open, unfrozen and its switches on again afterwards."""
    yield
    kt13, prd2 = host_of(secured, "kt13"), host_of(secured, "prd2")
    contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/traffic", "PUT", {"inbound_open": True})
    contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/freeze", "PUT", {"frozen": False})
    for app, trigger in ((SENDER, "welcome_mail"), (READER, "task_notification")):
        contract(kt13, 8070, f"/_contract/apps/{DOMAIN}/{app}/sending", "PUT", {"enabled": True})
        for host in (kt13, prd2):
            contract(host, 8070, f"/_contract/apps/{DOMAIN}/{app}/triggers/{trigger}", "PUT", {"enabled": True})


def _decide(inventory, decision, value, role="care_provider"):
    ok(kt2(inventory, "runbook", "approve", "--domain", DOMAIN, "--decision", decision, "--value", value,
           "--by", "A. de Vries", "--role", role, "--reason", "lab: agreed in the GO/NO-GO meeting"))




@pytest.mark.lab
def test_runbook_part1_under_live_traffic(secured, inventory, restored_afterwards):
    kt13 = host_of(secured, "kt13")
    prd2 = host_of(secured, "prd2")
    backups = inventory / ".runbook" / "backups" / DOMAIN
    with Traffic(secured) as traffic:
        refused = step(inventory, "P.3", "--emergency-reason", EMERGENCY)
        assert refused.returncode != 0 and "P.3 needs O done first" in refused.stdout

        frozen = ok(step(inventory, "L.1"))
        assert contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/freeze")[1] == {"frozen": True}
        assert "WARNING" not in frozen.stdout + frozen.stderr  # nothing an operator would have to act on
        ok(step(inventory, "L.2"))
        for decision in ("O.2", "O.3", "O.4"):
            _decide(inventory, decision, "confirmed")
        _decide(inventory, "O.9", "GO")
        wrong_party = kt2(inventory, "runbook", "approve", "--domain", DOMAIN, "--decision", "O.10", "--value",
                          "GO", "--by", "B. Jansen", "--role", "it_supplier", "--reason", "not theirs to give")
        assert wrong_party.returncode == 2 and "O.10 is decided by care_provider" in wrong_party.stderr
        gate = step(inventory, "O")
        assert gate.returncode != 0 and "O.10 Care provider orders the migration: no decision" in gate.stdout
        _decide(inventory, "O.10", "GO")
        ok(step(inventory, "O"))

        outside = step(inventory, "P.3", "-e", json.dumps(NO_WINDOW))
        assert outside.returncode != 0 and "outside every maintenance window" in outside.stdout
        ok(step(inventory, "P.3", "--emergency-reason", EMERGENCY))
        status, answer = contract(kt13, 8070, f"/_contract/apps/{DOMAIN}/{SENDER}/clients", "POST", {})
        assert status == 503 and "sending stopped" in json.dumps(answer)

        ok(step(inventory, "P.4", "--emergency-reason", EMERGENCY))
        before_drain = step(inventory, "P.2")
        assert before_drain.returncode != 0 and "P.2 needs P.5 done first" in before_drain.stdout
        drained = ok(step(inventory, "P.5", "-e", "kt2_drain_timeout=180"))
        assert "P.5 after" in drained.stdout and "0 queued, 0 in flight (every queue empty)" in drained.stdout
        ok(step(inventory, "P.6", "-e", "kt2_drain_timeout=180"))

        # P.2 killed midway (SIGKILL of ansible-playbook), then run again: one complete backup, no debris.
        kill_run_when(inventory, "P.2", DOMAIN, lambda: any(backups.glob(".P.2-*.partial/*.age")))
        assert any(backups.glob(".P.2-*.partial"))
        ok(step(inventory, "P.2"))
        time.sleep(1)
    posted_after_stop = traffic.results[-3:]

    assert posted_after_stop == [503, 503, 503], traffic.results[-10:]
    depth = contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/depth")[1]
    assert depth["queued"] == 0 and depth["in_flight"] == 0
    other = Kt13App(secured, "delta-ecd", domain="JZDELTA")
    assert other.post(f"Patient/other-{uuid.uuid4().hex[:8]}")[1].status_code == 201
    for host in (kt13, prd2):
        assert contract(host, 8070, f"/_contract/apps/{DOMAIN}/{SENDER}/triggers")[1] == {"welcome_mail": False}
        assert contract(host, 8070, f"/_contract/apps/{DOMAIN}/{READER}/triggers")[1] == {"task_notification": False}

    complete = sorted(p for p in backups.glob("P.2-*") if p.is_dir())
    assert len(complete) == 1 and not list(backups.glob(".*.partial"))
    assert len(list((inventory / ".runbook" / "keys" / DOMAIN).glob("P.2-*.key"))) == 1
    manifest = json.loads((complete[0] / "manifest.json").read_text())
    assert manifest["restore_test"] == "identical"
    export = contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/export")[1]
    assert next(p for p in manifest["parts"] if p["name"] == "kt13-messages")["rows"] == len(
        [line for line in export.splitlines() if line.strip()])
    assert "identical" in ok(kt2(inventory, "runbook", "restore-test", "--domain", DOMAIN)).stdout

    status = json.loads(ok(kt2(inventory, "runbook", "status", "--domain", DOMAIN, "--json")).stdout)
    assert {s: status["steps"][s] for s in ("L.1", "L.2", "O", "P.3", "P.4", "P.5", "P.6", "P.2")} == dict.fromkeys(
        ("L.1", "L.2", "O", "P.3", "P.4", "P.5", "P.6", "P.2"), "done")
    p2_runs = [r for r in status["runs"] if r["step"] == "P.2"]
    assert [r["result"] for r in p2_runs] == ["refused", "interrupted", "ok"]
    report = ok(kt2(inventory, "audit", "export", "--domain", DOMAIN, "--format", "report")).stdout
    assert EMERGENCY in report and "P.2 on prd2" in report and "no end recorded" in report
    assert "chain intact" in ok(kt2(inventory, "audit", "verify")).stdout

    # Rollback R: every step undone, in reverse order, and recorded.
    for name in ("P.6", "P.4", "P.3", "L.1"):
        ok(step(inventory, name, "--undo", "--emergency-reason", EMERGENCY))
    assert contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/traffic")[1] == {"inbound_open": True,
                                                                                    "processing_on": True}
    assert contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/freeze")[1] == {"frozen": False}
    assert contract(prd2, 8070, f"/_contract/apps/{DOMAIN}/{SENDER}/triggers")[1] == {"welcome_mail": True}
    assert contract(kt13, 8070, f"/_contract/apps/{DOMAIN}/{SENDER}/sending")[1] == {"enabled": True}
    assert Kt13App(secured, SENDER).post(f"Patient/back-{uuid.uuid4().hex[:8]}")[1].status_code == 201
    assert json.loads(kt2(inventory, "runbook", "status", "--domain", DOMAIN, "--json").stdout)["steps"]["P.3"] == \
        "undone"


@pytest.mark.lab
def test_drain_check_fails_on_timeout_with_the_depth_per_queue(secured, inventory, restored_afterwards):
    sender, reader = Kt13App(secured, SENDER), Kt13App(secured, READER)
    ok(step(inventory, "P.3", "--emergency-reason", EMERGENCY))
    message_id, posted = sender.post(f"Patient/stuck-{uuid.uuid4().hex[:8]}")  # nobody reads it yet
    assert posted.status_code == 201
    ok(step(inventory, "P.4", "--emergency-reason", EMERGENCY))
    stuck = step(inventory, "P.5", "-e", "kt2_drain_timeout=4", "-e", "kt2_drain_interval=1")
    assert stuck.returncode != 0
    said = " ".join(stuck.stdout.split())  # Ansible's YAML output folds long messages
    # At least this message queued (the previous test may have left one of its own for the readers).
    assert "not drained within 4s" in said and re.search(rf"{SENDER}: [1-9][0-9]* queued/0 in flight", said)
    assert json.loads(kt2(inventory, "runbook", "status", "--domain", DOMAIN, "--json").stdout)["steps"]["P.5"] == \
        "failed"
    claimed = reader.claim(count=1000).json()["entry"]
    assert message_id in [e["resource"]["entry"][0]["resource"]["id"] for e in claimed]
    for entry in claimed:
        reader.settle(entry["resource"]["entry"][0]["resource"]["id"], "Success")
    ok(step(inventory, "P.5", "-e", "kt2_drain_timeout=60"))
    for name in ("P.4", "P.3"):
        ok(step(inventory, name, "--undo", "--emergency-reason", EMERGENCY))


@pytest.mark.lab
def test_a_corrupted_backup_is_refused_at_restore(secured, inventory, restored_afterwards):
    ok(step(inventory, "L.2"))
    newest = sorted(p for p in (inventory / ".runbook" / "backups" / DOMAIN).glob("L.2-*") if p.is_dir())[-1]
    part = newest / "kt13-messages.age"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))
    proc = kt2(inventory, "runbook", "restore-test", "--domain", DOMAIN, "--backup", newest.name)
    assert proc.returncode == 1 and "kt13-messages.age: SHA-256 differs" in proc.stderr


@pytest.mark.lab
def test_an_edited_audit_record_is_named(secured, inventory):
    for _ in range(2):
        ok(step(inventory, "L.1", "--check"))
    trail = inventory / ".runbook" / "audit.jsonl"
    lines = trail.read_text().splitlines()
    record = json.loads(lines[2])
    record["operator"] = "someone-else"
    lines[2] = json.dumps(record, sort_keys=True)
    trail.write_text("\n".join(lines) + "\n")
    proc = kt2(inventory, "audit", "verify")
    assert proc.returncode == 1 and f"line 3 (seq {record['seq']}): content changed" in proc.stderr
