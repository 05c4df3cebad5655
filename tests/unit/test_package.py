"""Data packages (appendix B.1, B.2): encrypted with age, hash-verified, the key apart from the package."""

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from kt2ops.cli import main
from kt2ops.remote import Remote
from kt2ops.secrets import read_secret
from kt2ops.security.package import PackageError, manifest_path, open_package, seal, verification_path, verify
from kt2ops.security.sftp import known_hosts_file


@pytest.fixture
def export(tmp_path):
    data = tmp_path / "export"
    (data / "messages").mkdir(parents=True)
    (data / "messages" / "part-1.jsonl").write_bytes(b'{"event": "CreateOrUpdatePatient"}\n' * 5000)
    (data / "counts.json").write_text('{"Patient": 5000}')
    return data


def test_round_trip_gives_the_same_files_and_the_package_is_encrypted(tmp_path, export):
    package = seal([export], tmp_path / "outgoing", "ggz-noorderlicht", tmp_path / "keys" / "ggz.key")
    assert b"CreateOrUpdatePatient" not in package.read_bytes()
    assert package.read_bytes().startswith(b"age-encryption.org/v1")
    assert verify(package)["ok"] is True
    files = open_package(package, tmp_path / "keys" / "ggz.key", tmp_path / "incoming")
    assert sorted(files) == ["export/counts.json", "export/messages/part-1.jsonl"]
    assert (tmp_path / "incoming/export/messages/part-1.jsonl").read_bytes() == \
        (export / "messages/part-1.jsonl").read_bytes()


def test_key_travels_apart_and_never_in_the_manifest(tmp_path, export):
    key = tmp_path / "keys" / "k"
    key.parent.mkdir()
    package = seal([export], tmp_path / "out", "p", key)
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    assert key.read_text().startswith("$ANSIBLE_VAULT;")  # at rest only vault-encrypted
    secret = read_secret(key).decode().strip()
    assert secret.startswith("AGE-SECRET-KEY-")
    assert secret not in manifest_path(package).read_text()
    with pytest.raises(PackageError, match="must travel apart"):
        seal([export], tmp_path / "out", "q", tmp_path / "out" / "q.key")


def test_one_changed_byte_fails_verification_and_is_recorded(tmp_path, export):
    package = seal([export], tmp_path / "out", "p", tmp_path / "p.key")
    data = bytearray(package.read_bytes())
    data[len(data) // 2] ^= 1
    package.write_bytes(bytes(data))
    result = verify(package)
    assert result["ok"] is False and "differs from the manifest" in result["problems"][0]
    assert json.loads(verification_path(package).read_text())["ok"] is False
    with pytest.raises(PackageError, match="differs from the manifest"):
        open_package(package, tmp_path / "p.key", tmp_path / "in")
    assert not (tmp_path / "in").exists()


def test_wrong_key_is_refused(tmp_path, export):
    package = seal([export], tmp_path / "out", "p", tmp_path / "p.key")
    seal([export], tmp_path / "out2", "other", tmp_path / "other.key")
    with pytest.raises(PackageError, match="cannot be decrypted"):
        open_package(package, tmp_path / "other.key", tmp_path / "in")


def test_cli_keeps_the_secret_out_of_its_output(tmp_path, export):
    runner = CliRunner()
    sealed = runner.invoke(main, ["package", "seal", str(export), "--out", str(tmp_path / "out"), "--name", "p",
                                  "--key-out", str(tmp_path / "p.key")])
    assert sealed.exit_code == 0, sealed.output
    secret = read_secret(tmp_path / "p.key").decode().strip()
    checked = runner.invoke(main, ["package", "verify", str(tmp_path / "out" / "p.tar.age")])
    opened = runner.invoke(main, ["package", "open", str(tmp_path / "out" / "p.tar.age"), "--key",
                                  str(tmp_path / "p.key"), "--to", str(tmp_path / "in")])
    assert checked.exit_code == 0 and opened.exit_code == 0
    assert all(secret not in r.output for r in (sealed, checked, opened))


def test_sftp_checks_host_keys_against_the_known_hosts_file_the_ssh_options_name(tmp_path):
    hostvars = {"ansible_host": "10.0.0.1", "ansible_ssh_common_args":
                f"-o UserKnownHostsFile={tmp_path}/known_hosts -o StrictHostKeyChecking=yes"}
    assert known_hosts_file(Remote.from_hostvars("h", hostvars)) == tmp_path / "known_hosts"
    spaced = {"ansible_ssh_extra_args": f"-o 'UserKnownHostsFile {tmp_path}/other'"}
    assert known_hosts_file(Remote.from_hostvars("h", spaced)) == tmp_path / "other"
    assert known_hosts_file(Remote.from_hostvars("h", {})) == Path("~/.ssh/known_hosts").expanduser()
