"""teardown.yml: asks for confirmation, refuses production unless allowed, removes an environment's
services and data, and provision.yml brings it back."""

import socket

import pytest

from tests.conftest import LAB_INVENTORY, run
from tests.integration.conftest import host_of, kt2_client, outcome, playbook, recap


def _port_open(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=3).close()
        return True
    except OSError:
        return False


@pytest.mark.lab
def test_teardown_needs_confirmation(provisioned):
    proc = playbook("playbooks/teardown.yml", "-l", "acc21.lab")
    assert proc.returncode != 0 and "teardown of acc21 not confirmed" in proc.stdout
    assert _port_open(host_of(provisioned, "acc21")["address"], 443)


STATE = ("/var/lib/kt2ref", "/etc/kt2ops")


def _units(host: dict) -> str:
    """The kt2 unit files systemd knows (the listing's own footer proves the command ran)."""
    listing = run("podman", "exec", host["container"], "systemctl", "list-unit-files", "kt2-*", check=False).stdout
    assert "unit files listed." in listing, listing
    return listing


def _exists(host: dict, path: str) -> bool:
    """test -e answers 0 or 1; anything else (podman exec failing) is an error, not an answer."""
    code = run("podman", "exec", host["container"], "test", "-e", path, check=False).returncode
    assert code in (0, 1), f"test -e {path} on {host['host']}: exit {code}"
    return code == 0


def _databases(host: dict) -> list[str]:
    return run("podman", "exec", host["container"], "runuser", "-u", "postgres", "--", "psql", "-XAtc",
               "SELECT datname FROM pg_database").stdout.split()


@pytest.mark.lab
def test_production_is_refused_without_the_extra_variable(provisioned):
    proc = playbook("playbooks/teardown.yml", "-l", "prd2.lab", "-e", "kt2_teardown_confirm=prd2")
    assert proc.returncode != 0
    assert "prd2 holds production data: tearing it down needs -e kt2_teardown_allow_production=true" in proc.stdout
    assert _port_open(host_of(provisioned, "prd2")["address"], 443)


@pytest.mark.lab
def test_teardown_removes_services_and_data_and_provision_brings_it_back(provisioned):
    host = host_of(provisioned, "acc21")
    # Each probe first shows what it sees on the provisioned host, so that "gone" afterwards is a finding.
    assert _port_open(host["address"], 443)
    assert "kt2-fhir-server.service" in _units(host)
    assert {path: _exists(host, path) for path in STATE} == dict.fromkeys(STATE, True)
    assert "kt2_acc21" in _databases(host)
    proc = playbook("playbooks/teardown.yml", "-l", "acc21.lab", "-e", "kt2_teardown_confirm=acc21")
    assert proc.returncode == 0, outcome(proc)
    assert not _port_open(host["address"], 443)
    assert "kt2-fhir-server" not in _units(host)
    assert {path: _exists(host, path) for path in STATE} == dict.fromkeys(STATE, False)
    run("podman", "exec", host["container"], "systemctl", "start", "postgresql")
    databases = _databases(host)
    run("podman", "exec", host["container"], "systemctl", "stop", "postgresql")
    assert "postgres" in databases and "kt2_acc21" not in databases
    assert not (LAB_INVENTORY / ".pki" / "acc21").exists()
    again = playbook("playbooks/teardown.yml", "-l", "acc21.lab", "-e", "kt2_teardown_confirm=acc21")
    assert again.returncode == 0 and recap(again.stdout)["acc21.lab"]["changed"] == 0

    # Check mode on the empty environment: it shows the work and does none of it.
    planned = playbook("playbooks/provision.yml", "-l", "acc21.lab", "--check")
    assert planned.returncode == 0, outcome(planned)
    assert recap(planned.stdout)["acc21.lab"]["changed"] > 0
    assert not _port_open(host["address"], 443)
    assert not (LAB_INVENTORY / ".pki" / "acc21" / "ca.key").exists()

    proc = playbook("playbooks/provision.yml", "-l", "acc21.lab")
    assert proc.returncode == 0, outcome(proc)
    app = kt2_client(provisioned, "acc21", "ggz-noorderlicht", "noorderlicht-ecd")
    assert app.fhir("GET", "Patient?_summary=count").json()["total"] == 0
