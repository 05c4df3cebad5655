"""domains.yml refuses bad input before it changes anything: an invalid domain file, a foreign or an
expired application credential. Check mode reports a new domain without creating it."""

import datetime
import shutil

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from kt2ops.migration.profiles import declared
from kt2ops.secrets import read_secret
from tests.integration.conftest import (
    changed_tasks,
    contract,
    host_of,
    kt2_client,
    nothing_changed,
    outcome,
    playbook,
    recap,
)

APP = ("ggz-noorderlicht", "noorderlicht-ecd")


@pytest.mark.lab
def test_unknown_environment_stops_before_any_host_is_touched(provisioned, lab_inventory_copy):
    domain_file = lab_inventory_copy / "domains" / "ggz-noorderlicht.yml"
    domain_file.write_text(domain_file.read_text().replace("environments: [acc21,", "environments: [acc23, acc21,"))
    proc = playbook("-i", str(lab_inventory_copy), "playbooks/domains.yml")
    assert proc.returncode != 0
    assert "ggz-noorderlicht.yml:7: domain.environments[0]: unknown environment 'acc23'" in proc.stdout
    assert nothing_changed(proc), changed_tasks(proc)


@pytest.mark.lab
def test_foreign_application_key_is_refused(provisioned, lab_inventory_copy):
    pki = lab_inventory_copy / ".pki"
    for suffix in (".key", ".crt"):
        shutil.copy(pki / "acc22" / "apps" / APP[0] / f"{APP[1]}{suffix}", pki / "prd2" / "apps" / APP[0])
    proc = playbook("-i", str(lab_inventory_copy), "playbooks/domains.yml", "-l", "prd2.lab")
    assert proc.returncode != 0
    assert f"{APP[1]}.crt: application {APP[1]} of domain {APP[0]} on prd2: not issued by the prd2 CA" in proc.stdout
    assert nothing_changed(proc), changed_tasks(proc)
    # prd2 still knows only its own key for the application.
    assert kt2_client(provisioned, "prd2", *APP).request_token().status_code == 200
    assert kt2_client(provisioned, "prd2", *APP, key_environment="acc22").request_token().status_code == 401


@pytest.mark.lab
def test_expired_application_certificate_is_refused(provisioned, lab_inventory_copy):
    env_dir = lab_inventory_copy / ".pki" / "prd2"
    ca_cert = x509.load_pem_x509_certificate((env_dir / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key(read_secret(env_dir / "ca.key"), password=None)
    cert_path = env_dir / "apps" / APP[0] / f"{APP[1]}.crt"
    current = x509.load_pem_x509_certificate(cert_path.read_bytes())
    now = datetime.datetime.now(datetime.UTC)
    expired = (x509.CertificateBuilder().subject_name(current.subject).issuer_name(ca_cert.subject)
               .public_key(current.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=400)).not_valid_after(now - datetime.timedelta(days=2))
               .sign(ca_key, hashes.SHA256()))
    cert_path.write_bytes(expired.public_bytes(serialization.Encoding.PEM))
    proc = playbook("-i", str(lab_inventory_copy), "playbooks/domains.yml", "-l", "prd2.lab")
    assert proc.returncode != 0
    assert f"{APP[1]}.crt: application {APP[1]} of domain {APP[0]} on prd2: certificate expired on" in proc.stdout
    assert nothing_changed(proc), changed_tasks(proc)


@pytest.mark.lab
def test_check_mode_reports_a_new_domain_without_creating_it(provisioned, lab_inventory_copy):
    source = (lab_inventory_copy / "domains" / "jeugdzorg-delta.yml").read_text()
    new = (source.replace("id: jeugdzorg-delta", "id: jeugdzorg-epsilon").replace("domain: JZDELTA", "domain: JZEPS")
           .replace("delta-portaal", "epsilon-portaal").replace("delta-ecd", "epsilon-ecd"))
    (lab_inventory_copy / "domains" / "jeugdzorg-epsilon.yml").write_text(new)
    proc = playbook("-i", str(lab_inventory_copy), "playbooks/domains.yml", "-l", "acc21.lab", "--check", "--diff")
    assert proc.returncode == 0, outcome(proc)
    assert recap(proc.stdout)["acc21.lab"]["changed"] > 0
    assert "jeugdzorg-epsilon" in proc.stdout
    domains = contract(host_of(provisioned, "acc21"), 8080, "/_contract/domains")[1]["domains"]
    assert "jeugdzorg-epsilon" not in [d["id"] for d in domains]
    assert not (lab_inventory_copy / ".pki" / "acc21" / "apps" / "jeugdzorg-epsilon").exists()


@pytest.mark.lab
def test_provision_second_run_changes_nothing(provisioned):
    # Its check mode is proven after the journey (test_84), where the runbook's state weighs in too.
    proc = playbook("playbooks/provision.yml")
    assert proc.returncode == 0, outcome(proc)
    assert nothing_changed(proc), changed_tasks(proc)


@pytest.mark.lab
def test_domain_marked_absent_is_removed_with_its_data(provisioned, lab_inventory_copy):
    host = host_of(provisioned, "acc21")
    delta = kt2_client(provisioned, "acc21", "jeugdzorg-delta", "delta-ecd")
    delta.fhir("POST", "Patient", json=declared({
        "resourceType": "Patient", "active": True, "identifier": [{"system": "urn:test", "value": "gone"}],
        "name": [{"use": "official", "family": "Weg", "given": ["Gaat"]}], "gender": "other",
        "birthDate": "2001-01-01"})).raise_for_status()
    domain_file = lab_inventory_copy / "domains" / "jeugdzorg-delta.yml"
    domain_file.write_text(domain_file.read_text().replace("state: present", "state: absent"))
    try:
        proc = playbook("-i", str(lab_inventory_copy), "playbooks/domains.yml", "-l", "acc21.lab", "--diff")
        assert proc.returncode == 0, outcome(proc)
        assert recap(proc.stdout)["acc21.lab"]["changed"] > 0
        domains = [d["id"] for d in contract(host, 8080, "/_contract/domains")[1]["domains"]]
        assert domains == ["ggz-noorderlicht"]
        assert contract(host, 8080, "/_contract/domains/jeugdzorg-delta/totals")[0] == 404
    finally:
        restored = playbook("playbooks/domains.yml", "-l", "acc21.lab")
    assert restored.returncode == 0, outcome(restored)
    # Its two applications and the migration's own, and the Subscriptions the applications' trigger functions
    # need again (the portal: Patient and Task; the ehr: Patient).
    assert contract(host, 8080, "/_contract/domains/jeugdzorg-delta/totals")[1]["counts"] == {
        "Device": 3, "Endpoint": 3, "Organization": 1, "Subscription": 3}
