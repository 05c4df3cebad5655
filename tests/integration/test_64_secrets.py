"""Secrets at rest on the lab: every key, identity and password kt2ops wrote on the control machine lies
vault-encrypted and opens with `ansible-vault view`; a wrong or missing vault password stops playbooks and
`kt2` commands with the file or source named, before anything changes."""

import pytest

from kt2ops.secrets import inventory_secret_dirs, plain_secrets, vaulted_files
from tests.conftest import LAB_INVENTORY, run
from tests.integration.conftest import playbook

PKI = LAB_INVENTORY / ".pki"
ENVIRONMENTS = ("acc21", "acc22", "mgr2", "prd2", "kt13")


@pytest.fixture
def wrong_password(tmp_path):
    path = tmp_path / "wrong-vault-password"
    path.write_text("not the lab's password\n")
    return {"ANSIBLE_VAULT_PASSWORD_FILE": str(path)}


def _recap(stdout: str) -> str:
    return stdout.split("PLAY RECAP")[-1] if "PLAY RECAP" in stdout else ""


@pytest.mark.lab
def test_every_secret_of_the_lab_lies_vault_encrypted(provisioned):
    vaulted = {p.relative_to(LAB_INVENTORY).as_posix() for p in vaulted_files(*inventory_secret_dirs(LAB_INVENTORY))}
    for env in ENVIRONMENTS:
        assert {f".pki/{env}/ca.key", f".pki/{env}/server.key"} <= vaulted
    assert ".lab/id_ed25519" in vaulted
    assert any(v.startswith(".pki/prd2/apps/") and v.endswith(".key") for v in vaulted)
    assert any(v.startswith(".pki/prd2/token-signing/") for v in vaulted)
    assert any(v.startswith(".pki/kt13/apps/") and v.endswith(".password") for v in vaulted)
    assert list(plain_secrets(LAB_INVENTORY)) == []
    assert run(".venv/bin/kt2", "vault", "plain").returncode == 0
    shown = run(".venv/bin/ansible-vault", "view", str(PKI / "prd2" / "ca.key")).stdout
    assert shown.startswith("-----BEGIN") and "PRIVATE KEY-----" in shown


@pytest.mark.lab
def test_a_wrong_vault_password_stops_a_playbook_before_any_change(provisioned, wrong_password):
    proc = playbook("playbooks/provision.yml", env=wrong_password)
    assert proc.returncode != 0
    assert "do not open, nothing was changed" in proc.stdout
    assert f"{PKI / 'prd2' / 'ca.key'}: cannot be opened with this vault password" in proc.stdout
    recap = _recap(proc.stdout)
    assert "changed=0" in recap and ".lab " not in recap  # only the check on the control machine ran
    assert "PRIVATE KEY" not in proc.stdout + proc.stderr


@pytest.mark.lab
def test_a_missing_vault_password_stops_playbooks_and_kt2_naming_the_source(provisioned, tmp_path):
    missing = {"ANSIBLE_VAULT_PASSWORD_FILE": str(tmp_path / "no-such-password")}
    proc = playbook("playbooks/site.yml", env=missing)
    assert proc.returncode != 0 and "PLAY RECAP" not in proc.stdout
    assert f"{tmp_path / 'no-such-password'} was not found" in proc.stdout + proc.stderr
    comply = run(".venv/bin/kt2", "comply", "-l", "acc21", "--out", str(tmp_path / "bundle"), env=missing,
                 check=False)
    assert comply.returncode == 2 and f"{tmp_path / 'no-such-password'} was not found" in comply.stderr
    assert not (tmp_path / "bundle").exists()


@pytest.mark.lab
def test_a_supplier_key_that_does_not_open_stops_its_p8_part_before_anything_is_sent(provisioned, wrong_password,
                                                                                     tmp_path):
    export = tmp_path / "export.jsonl"
    export.write_text("")
    key = PKI / "acc21" / "apps" / "ggz-noorderlicht" / "noorderlicht-ecd.key"
    proc = run(".venv/bin/kt2", "migration", "publish", str(export), "--domain", "ggz-noorderlicht",
               "--environment", "acc21", "--application", "noorderlicht-ecd", "--key", str(key),
               env=wrong_password, check=False)
    assert proc.returncode == 2
    assert f"{key}: cannot be opened with this vault password" in proc.stderr
    assert not (LAB_INVENTORY / ".runbook" / "migration" / "ggz-noorderlicht" / "acc21" / "export.jsonl").exists()
