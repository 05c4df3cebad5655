"""The README's one command for a domain's whole journey (`kt2 journey`), end to end on the lab, for a
generated domain under live traffic until the stop: provision, appendix B, the trial migration on mgr2
and its cleanup, part 1 of the runbook, the migration to prd2, the Q gate, opening production, cleanup S
and the compliance report. Afterwards: counts and hash totals match, no welcome mail reached a migrated
client, mgr2 holds nothing of the domain, KT 1.3 no longer serves it, the audit trail verifies."""

import json
import threading
import time
import uuid

import pytest

from kt2ops.migration.step import Target, remove_migrated
from kt2ops.migration.totals import target_counts
from tests.conftest import run
from tests.integration.conftest import Kt13App, contract, copy_lab_inventory, host_of, playbook

DOMAIN, KT13_DOMAIN, SENDER = "jeugdzorg-delta", "JZDELTA", "delta-ecd"
APPS = {"delta-portaal": ("welcome_mail", "sms_reminder"), "delta-ecd": ()}
JOURNEY_STEPS = ("M.2", "P.2", "P.8", "Q", "Q.9", "Q.10", "S.1", "S.2", "S.3", "S.4", "S.5")


def target(lab, inventory, environment):
    return Target(environment, f"https://{environment}.koppeltaal.test", host_of(lab, environment)["address"],
                  inventory / ".pki" / environment)


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


@pytest.mark.lab
def test_a_domain_travels_from_kt13_to_kt2_with_one_command(secured, tmp_path):
    inventory = copy_lab_inventory(tmp_path / "lab")
    prd2, kt13 = host_of(secured, "prd2"), host_of(secured, "kt13")
    mails = {app: contract(prd2, 8070, f"/_contract/apps/{DOMAIN}/{app}/outbox")[1]["mails"] for app in APPS}
    try:
        with LiveTraffic(secured) as traffic:
            journey = run(".venv/bin/kt2", "journey", "-i", str(inventory), "--domain", DOMAIN, "--approve-as",
                          "Lab e2e test", "--emergency-reason", "lab e2e test outside the production window",
                          check=False, timeout=3000)
        assert journey.returncode == 0, journey.stdout[-5000:] + journey.stderr[-3000:]
        assert 201 in traffic.statuses and traffic.statuses[-1] in (503, 404)  # live until the stop
        assert f"{DOMAIN} is on KT 2.0" in journey.stdout

        work = inventory / ".runbook" / "migration" / DOMAIN
        gate = json.loads((work / "prd2" / "q-gate.json").read_text())
        assert all(check["met"] for check in gate) and {c["id"] for c in gate} == {"Q.1", "Q.2", "Q.3"}
        hashes = next(c for c in gate if c["title"].startswith("hash totals"))["figures"]
        assert hashes["source_hash_total"] == hashes["target_hash_total"]
        validation = json.loads((work / "prd2" / "validation.json").read_text())
        prd2_client = target(secured, inventory, "prd2").client(DOMAIN)
        assert target_counts(prd2_client) == validation["in_scope"] and validation["in_scope"]["Patient"] > 300
        prd2_client.close()
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

        for app in APPS:  # no welcome mail (or any other) to a migrated client
            assert contract(prd2, 8070, f"/_contract/apps/{DOMAIN}/{app}/outbox")[1]["mails"] == mails[app]
        mgr2_client = target(secured, inventory, "mgr2").client(DOMAIN)
        assert set(target_counts(mgr2_client).values()) == {0}
        mgr2_client.close()
        assert contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/depth")[0] == 404
        assert Kt13App(secured, SENDER, domain=KT13_DOMAIN).post("Patient/late")[1].status_code == 404
        assert "chain intact" in run(".venv/bin/kt2", "audit", "verify", "-i", str(inventory)).stdout
        status = json.loads(run(".venv/bin/kt2", "runbook", "status", "-i", str(inventory), "--domain", DOMAIN,
                                "--json").stdout)["steps"]
        assert {s: status[s] for s in JOURNEY_STEPS} == dict.fromkeys(JOURNEY_STEPS, "done")
        report = json.loads((inventory / ".runbook" / "comply" / DOMAIN / "report.json").read_text())
        assert report["summary"]["fail"] == 0, report["summary"]
    finally:
        if contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/depth")[0] == 404:
            playbook("playbooks/domains.yml", "-l", "kt13.lab")
        contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/freeze", "PUT", {"frozen": False})
        contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/traffic", "PUT", {"inbound_open": True,
                                                                              "processing_on": True})
        for environment in ("prd2", "mgr2"):
            fhir = target(secured, inventory, environment).client(DOMAIN)
            remove_migrated(fhir)
            fhir.close()
        contract(prd2, 8080, f"/_contract/domains/{DOMAIN}/traffic", "PUT", {"open": True})
        for app, triggers in APPS.items():
            contract(kt13, 8070, f"/_contract/apps/{DOMAIN}/{app}/sending", "PUT", {"enabled": True})
            for trigger in triggers:
                for host in (kt13, prd2):
                    contract(host, 8070, f"/_contract/apps/{DOMAIN}/{app}/triggers/{trigger}", "PUT",
                             {"enabled": True})
