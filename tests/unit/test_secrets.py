"""Secrets at rest: stored in Ansible Vault format, opened in memory with the configured password, refused
with the file named when the password is missing or wrong; plain-text secrets found wherever they lie."""

import subprocess
import sys
from pathlib import Path

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret
from click.testing import CliRunner
from pyrage import x25519

from kt2ops import secrets
from kt2ops.cli import main
from kt2ops.secrets import (
    SecretError,
    age_identity,
    paramiko_key,
    plain_secrets,
    read_secret,
    write_age_identity,
    write_secret,
)


def vault(password: str) -> VaultLib:
    return VaultLib([("default", VaultSecret(password.encode()))])


@pytest.fixture
def password_file(tmp_path, monkeypatch):
    path = tmp_path / "vault-password"
    path.write_text("correct horse\n")
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(path))
    return path


def test_a_written_secret_is_vault_format_that_ansible_vault_opens(tmp_path, password_file):
    key = tmp_path / "pki" / "ca.key"
    write_secret(key, b"-----BEGIN PRIVATE KEY-----\nsecret\n", vault("correct horse"))
    assert key.read_bytes().startswith(b"$ANSIBLE_VAULT;1.1;AES256")
    assert b"secret" not in key.read_bytes()
    assert key.stat().st_mode & 0o777 == 0o600 and key.parent.stat().st_mode & 0o777 == 0o700
    shown = subprocess.run([str(Path(sys.executable).parent / "ansible-vault"), "view", str(key)],
                           capture_output=True, text=True, check=True)
    assert shown.stdout == "-----BEGIN PRIVATE KEY-----\nsecret\n"
    assert read_secret(key, vault("correct horse")) == b"-----BEGIN PRIVATE KEY-----\nsecret\n"


def test_a_wrong_password_names_the_file_and_reveals_nothing(tmp_path):
    key = tmp_path / "app.key"
    write_secret(key, b"the secret", vault("right"))
    with pytest.raises(SecretError, match=f"{key}: cannot be opened with this vault password") as caught:
        read_secret(key, vault("wrong"))
    assert "the secret" not in str(caught.value)


def test_no_password_to_store_with_changes_nothing(tmp_path):
    key = tmp_path / "new.key"
    with pytest.raises(SecretError, match="no vault password is configured"):
        write_secret(key, b"secret", VaultLib([]))
    assert not key.exists()


def test_an_age_identity_round_trips_and_is_never_replaced(tmp_path):
    identity = x25519.Identity.generate()
    path = tmp_path / "keys" / "P.2-1.key"
    write_age_identity(path, identity, vault("pw"))
    assert str(age_identity(path, vault("pw")).to_public()) == str(identity.to_public())
    with pytest.raises(FileExistsError):
        write_age_identity(path, x25519.Identity.generate(), vault("pw"))
    path.with_name("not-age.key").write_text("hello\n")
    with pytest.raises(SecretError, match="not an age identity"):
        age_identity(path.with_name("not-age.key"))


def test_an_ssh_key_opens_for_paramiko_in_memory(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                            serialization.NoEncryption())
    write_secret(tmp_path / "id_ed25519", pem, vault("pw"))
    loaded = paramiko_key(tmp_path / "id_ed25519", vault("pw"))
    assert loaded.get_name() == "ssh-ed25519"


def test_plain_secrets_are_found_by_content_or_name_and_vaulted_ones_are_not(tmp_path):
    (tmp_path / ".pki" / "acc21").mkdir(parents=True)
    (tmp_path / ".pki" / "acc21" / "server.key").write_text("-----BEGIN EC PRIVATE KEY-----\nx\n")
    (tmp_path / ".pki" / "acc21" / "server.crt").write_text("-----BEGIN CERTIFICATE-----\nx\n")
    (tmp_path / "report.txt").write_text("identity AGE-SECRET-KEY-1QQQ leaked into a log\n")
    (tmp_path / "app.password").write_text("hunter2\n")
    write_secret(tmp_path / ".pki" / "acc21" / "ca.key", b"-----BEGIN PRIVATE KEY-----\n", vault("pw"))
    (tmp_path / "backup.tar.age").write_bytes(b"AGE-SECRET-KEY-1 inside encrypted data is not read")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in plain_secrets(tmp_path)) == [
        ".pki/acc21/server.key", "app.password", "report.txt"]


def test_kt2_vault_convert_encrypts_once_and_plain_lists_what_is_left(tmp_path, password_file, monkeypatch):
    secrets._vault_from_config.cache_clear()
    inventory = tmp_path / "inv"
    (inventory / ".pki" / "acc21").mkdir(parents=True)
    (inventory / ".pki" / "acc21" / "ca.key").write_text("-----BEGIN PRIVATE KEY-----\nabc\n")
    runner = CliRunner()
    listed = runner.invoke(main, ["vault", "plain", "-i", str(inventory)])
    assert listed.exit_code == 1 and "ca.key" in listed.output
    converted = runner.invoke(main, ["vault", "convert", "-i", str(inventory)])
    assert converted.exit_code == 0 and "1 file(s) encrypted" in converted.output
    assert runner.invoke(main, ["vault", "convert", "-i", str(inventory)]).output.endswith("0 file(s) encrypted\n")
    assert runner.invoke(main, ["vault", "plain", "-i", str(inventory)]).exit_code == 0
    assert read_secret(inventory / ".pki" / "acc21" / "ca.key") == b"-----BEGIN PRIVATE KEY-----\nabc\n"
    secrets._vault_from_config.cache_clear()


def test_convert_without_a_password_stops_before_any_change(tmp_path, monkeypatch):
    secrets._vault_from_config.cache_clear()
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(tmp_path / "missing"))
    inventory = tmp_path / "inv"
    (inventory / ".pki").mkdir(parents=True)
    (inventory / ".pki" / "ca.key").write_text("-----BEGIN PRIVATE KEY-----\nabc\n")
    result = CliRunner().invoke(main, ["vault", "convert", "-i", str(inventory)])
    assert result.exit_code == 1 and "vault password" in result.output and str(tmp_path / "missing") in result.output
    assert (inventory / ".pki" / "ca.key").read_text().startswith("-----BEGIN")
    secrets._vault_from_config.cache_clear()
