"""B.1 delivery with paramiko: `kt2 package send` into mgr2's transfer area, strict host keys, key only, and
an upload cut off halfway that resumes from what arrived."""

import hashlib
import os

import pytest

from kt2ops.inventory.model import load_inventory
from kt2ops.remote import Remote, RemoteError
from kt2ops.security import sftp
from tests.conftest import LAB_INVENTORY, run
from tests.integration.conftest import host_of

AREA = "/srv/kt2ops/transfer/incoming"


@pytest.fixture
def mgr2(secured):
    """mgr2's lab host and a Remote for it as the inventory describes it; the transfer area emptied after."""
    host = host_of(secured, "mgr2")
    inventory = load_inventory(LAB_INVENTORY)
    yield host, Remote.from_hostvars("mgr2.lab", inventory.hostvars["mgr2.lab"])
    run("podman", "exec", host["container"], "find", AREA, "-mindepth", "1", "-delete")


def _on_host(host, *argv):
    return run("podman", "exec", host["container"], *argv).stdout


def _sha256_on_host(host, name):
    return _on_host(host, "sha256sum", f"{AREA}/{name}").split()[0]


def _payload(tmp_path, mib=16):
    path = tmp_path / "copy.tar.age"
    path.write_bytes(os.urandom(mib << 20))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_kt2_package_send_delivers_package_and_manifest_intact(mgr2, tmp_path):
    host, _ = mgr2
    export = tmp_path / "export"
    export.mkdir()
    (export / "messages.jsonl").write_text('{"event": "CreateOrUpdatePatient"}\n' * 5000)
    run(".venv/bin/kt2", "package", "seal", str(export), "--out", str(tmp_path / "out"), "--name", "copy",
        "--key-out", str(tmp_path / "key" / "copy.key"))
    proc = run(".venv/bin/kt2", "package", "send", str(tmp_path / "out" / "copy.tar.age"), "--env", "mgr2")
    assert "delivered copy.tar.age to mgr2.lab" in proc.stdout and "delivered copy.manifest.json" in proc.stdout
    for name in ("copy.tar.age", "copy.manifest.json"):
        assert _sha256_on_host(host, name) == hashlib.sha256((tmp_path / "out" / name).read_bytes()).hexdigest()
    assert "copy.tar.age.partial" not in _on_host(host, "ls", AREA)


def test_an_upload_cut_off_halfway_resumes_from_what_arrived(mgr2, tmp_path):
    host, remote = mgr2
    payload, digest = _payload(tmp_path)
    size = payload.stat().st_size
    cut = []

    def drop_connection_at_half(transfer):
        if not cut and transfer.done >= size // 2:
            cut.append(transfer.done)
            # The server side of the session ends: what the client sees of a dropped connection.
            run("podman", "exec", host["container"], "pkill", "-KILL", "-u", "kt2transfer")

    with pytest.raises(RemoteError) as refused:
        sftp.send(remote, [payload], progress=drop_connection_at_half)
    assert "mgr2.lab: upload of" in str(refused.value) and "copy.tar.age" in str(refused.value)
    arrived = int(_on_host(host, "stat", "-c", "%s", f"{AREA}/copy.tar.age.partial"))
    assert 0 < arrived < size
    assert "copy.tar.age\n" not in _on_host(host, "ls", AREA), "half a package was published under its name"

    (record,) = sftp.send(remote, [payload])
    assert record["resumed_from"] == arrived
    assert _sha256_on_host(host, "copy.tar.age") == digest


def test_a_partial_upload_that_is_not_a_prefix_of_the_file_starts_again(mgr2, tmp_path):
    host, remote = mgr2
    payload, digest = _payload(tmp_path, mib=2)
    other = tmp_path / "other"
    other.write_bytes(os.urandom(1 << 20))
    run("podman", "cp", str(other), f"{host['container']}:{AREA}/copy.tar.age.partial")
    run("podman", "exec", host["container"], "chown", "kt2transfer:", f"{AREA}/copy.tar.age.partial")
    (record,) = sftp.send(remote, [payload])
    assert record["resumed_from"] == 0
    assert _sha256_on_host(host, "copy.tar.age") == digest


def _known_hosts_with(tmp_path, lines):
    known = tmp_path / "known_hosts"
    known.write_text("".join(lines))
    return known


def _with_known_hosts(remote, known):
    return Remote(remote.name, remote.address, remote.user, remote.port, remote.key_file,
                  ("-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes"))


def test_a_changed_or_unknown_host_key_refuses_the_upload(mgr2, tmp_path):
    host, remote = mgr2
    payload, _ = _payload(tmp_path, mib=1)
    real = (LAB_INVENTORY / ".lab" / "known_hosts").read_text().splitlines(keepends=True)
    mine = next(line for line in real if line.startswith(f"{remote.address} "))
    # Positive twin: with the real known_hosts (only mgr2's line) the same upload goes through.
    sftp.send(_with_known_hosts(remote, _known_hosts_with(tmp_path, [mine])), [payload])
    run("podman", "exec", host["container"], "rm", f"{AREA}/copy.tar.age")

    foreign_key = next(line for line in real if not line.startswith(f"{remote.address} ")).split(" ", 1)[1]
    changed = _known_hosts_with(tmp_path, [f"{remote.address} {foreign_key}"])
    with pytest.raises(RemoteError, match="host key changed"):
        sftp.send(_with_known_hosts(remote, changed), [payload])
    unknown = _known_hosts_with(tmp_path, [])
    with pytest.raises(RemoteError, match="host key unknown"):
        sftp.send(_with_known_hosts(remote, unknown), [payload])
    assert "copy.tar.age" not in _on_host(host, "ls", AREA), "something was sent to an unverified host"


def test_only_the_transfer_key_is_accepted(mgr2, tmp_path):
    host, remote = mgr2
    payload, _ = _payload(tmp_path, mib=1)
    stranger = tmp_path / "id_stranger"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger))
    as_stranger = Remote(remote.name, remote.address, remote.user, remote.port, str(stranger), remote.options)
    with pytest.raises(RemoteError, match="kt2transfer refused the key"):
        sftp.send(as_stranger, [payload])
    assert "copy.tar.age" not in _on_host(host, "ls", AREA)
