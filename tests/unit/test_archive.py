"""Runbook S.4/S.5 archive: KT 1.3's messages compressed, hashed and encrypted; S.5 may remove the domain
only while the archive verifies and still holds what KT 1.3 holds. KT 1.3 is faked at the SSH boundary:
its export is a file streamed by a real process (the lab run of S.4 and S.5 is in test_84_journey)."""

import subprocess
from pathlib import Path

import pytest

from kt2ops.migration.archive import ArchiveError, archive, verify

DOMAIN, KT13_DOMAIN = "ggz-noorderlicht", "NOORDERLICHT"


class Kt13Export:
    """The KT 1.3 server as archive() reaches it: a command whose stdout is the domain's export."""

    def __init__(self, export: Path):
        self.export = export

    def stream(self, command: str, *, write: bool) -> subprocess.Popen[bytes]:
        assert f"/domains/{KT13_DOMAIN}/export" in command and not write
        return subprocess.Popen(["cat", str(self.export)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def finish(self, proc: subprocess.Popen[bytes], command: str) -> bytes:
        rest = proc.stdout.read() if proc.stdout else b""
        assert proc.wait() == 0
        return rest


@pytest.fixture
def kt13(tmp_path):
    export = tmp_path / "kt13-export.jsonl"
    export.write_bytes(b"".join(b'{"id": "m-%d", "event": "CreateOrUpdatePatient"}\n' % i for i in range(2000)))
    return Kt13Export(export)


@pytest.fixture
def where(tmp_path):
    return tmp_path / "archives", tmp_path / "keys"


def package_in(where) -> Path:
    return where[0] / DOMAIN / f"S4-{KT13_DOMAIN}.tar.age"


def test_archive_verifies_and_a_second_run_with_the_same_data_makes_none(kt13, where):
    record, made = archive(kt13, DOMAIN, KT13_DOMAIN, *where)
    assert made and record["verified"] and record["rows"] == 2000
    package = package_in(where)
    assert b"CreateOrUpdatePatient" not in package.read_bytes()  # compressed and encrypted
    assert (where[1] / DOMAIN / "S4-archive.key").exists() and not list(package.parent.glob("*.key"))  # key apart
    assert archive(kt13, DOMAIN, KT13_DOMAIN, *where)[1] is False
    assert verify(DOMAIN, KT13_DOMAIN, *where, kt13=kt13)["export_sha256"] == record["export_sha256"]


def test_without_an_archive_s5_is_told_to_run_s4(kt13, where):
    with pytest.raises(ArchiveError, match=r"run S\.4 first"):
        verify(DOMAIN, KT13_DOMAIN, *where, kt13=kt13)


def test_one_changed_byte_fails_verification_and_s4_archives_again(kt13, where):
    archive(kt13, DOMAIN, KT13_DOMAIN, *where)
    package = package_in(where)
    data = bytearray(package.read_bytes())
    data[len(data) // 2] ^= 0x01
    package.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="differs from the manifest"):
        verify(DOMAIN, KT13_DOMAIN, *where, kt13=kt13)
    assert archive(kt13, DOMAIN, KT13_DOMAIN, *where)[1] is True  # damaged: archived anew
    assert verify(DOMAIN, KT13_DOMAIN, *where, kt13=kt13)["verified"] is True


def test_kt13_holding_other_data_than_the_archive_refuses_removal(kt13, where):
    archive(kt13, DOMAIN, KT13_DOMAIN, *where)
    with kt13.export.open("ab") as more:
        more.write(b'{"id": "late", "event": "CreateOrUpdatePatient"}\n')
    with pytest.raises(ArchiveError, match=r"KT 1\.3 holds other data"):
        verify(DOMAIN, KT13_DOMAIN, *where, kt13=kt13)
    record, made = archive(kt13, DOMAIN, KT13_DOMAIN, *where)
    assert made and record["rows"] == 2001
