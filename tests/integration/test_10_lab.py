"""`kt2 lab up|status` against real podman: hosts, networks, SSH, isolation between environments."""

import ipaddress
import itertools
import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import ROOT, run

ENVIRONMENTS = {"acc21", "acc22", "mgr2", "prd2", "kt13"}


def test_every_environment_has_its_own_host_and_network(lab):
    assert {h["environment"] for h in lab} == ENVIRONMENTS
    assert len({h["network"] for h in lab}) == len(lab)
    for host in lab:
        assert host["state"] == "running" and host["systemd"] in ("running", "degraded")
        assert host["ssh"] == "ok"
        assert ipaddress.ip_address(host["address"]) in ipaddress.ip_network(host["subnet"])
        inspect = run("podman", "network", "inspect", host["network"]).stdout
        assert '"isolate": "true"' in inspect


def test_lab_up_twice_changes_nothing(lab):
    out = run(".venv/bin/kt2", "lab", "up").stdout
    assert "lab up: 0 changed" in out
    assert "changed:" not in out


def test_ansible_reaches_every_host_over_ssh(lab):
    proc = run(".venv/bin/ansible", "-i", "inventories/lab", "all", "-m", "ansible.builtin.ping", "-o")
    assert proc.stdout.count("SUCCESS") == len(ENVIRONMENTS)
    # The connection is SSH with strict host-key checking against keys read from the hosts themselves.
    assert "StrictHostKeyChecking=yes" in (ROOT / "inventories/lab/zz_lab_connection.yml").read_text()


def _tcp(container: str, address: str, port: int) -> bool:
    probe = f"timeout 3 bash -c '</dev/tcp/{address}/{port}'"
    return run("podman", "exec", container, "bash", "-c", probe, check=False).returncode == 0


def test_no_tcp_between_environments(lab):
    pairs = list(itertools.product(lab, lab))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda p: _tcp(p[0]["container"], p[1]["address"], 22), pairs))
    for (src, dst), connected in zip(pairs, results, strict=True):
        if src is dst:
            assert connected, f"{src['host']} cannot reach its own sshd"
        else:
            assert not connected, f"{src['host']} opened a TCP connection to {dst['host']}"


def test_missing_podman_is_named(tmp_path):
    env = {"PATH": str(tmp_path)}  # a PATH without podman
    proc = run(str(ROOT / ".venv/bin/kt2"), "lab", "up", env=env, check=False)
    assert proc.returncode == 1
    assert "podman is not installed" in proc.stderr


def test_podman_that_cannot_run_containers_is_named(tmp_path):
    # crun cannot run containers on this machine's cgroup layout: lab up must say so, not hang or crash.
    conf = tmp_path / "containers.conf"
    conf.write_text('[engine]\nruntime = "crun"\n')
    proc = run(".venv/bin/kt2", "lab", "up", env={"CONTAINERS_CONF": str(conf)}, check=False)
    assert proc.returncode == 1
    assert "crun" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_status_fails_when_a_host_is_down(lab):
    container = next(h["container"] for h in lab if h["environment"] == "acc21")
    run("podman", "stop", "--time", "5", container)
    try:
        proc = run(".venv/bin/kt2", "lab", "status", check=False)
        assert proc.returncode == 1
        assert "host not running" in proc.stdout
    finally:
        out = run(".venv/bin/kt2", "lab", "up").stdout
    assert f"started {container}" in out


def test_setup_put_podman_on_runc():
    assert shutil.which("podman") and os.path.exists("/etc/containers/containers.conf.d/50-kt2ops.conf")
    assert run("podman", "info", "--format", "{{.Host.OCIRuntime.Name}}").stdout.strip() == "runc"


def test_lab_up_recreates_a_host_it_cannot_start(lab):
    # A paused container refuses `podman start` ("container state improper"), as a container left
    # half-stopped does; lab up must bring the host back instead of failing.
    container = next(h["container"] for h in lab if h["environment"] == "acc22")
    run("podman", "pause", container)
    out = run(".venv/bin/kt2", "lab", "up").stdout
    assert f"recreated {container} (was paused)" in out
    status = {h["container"]: h for h in json.loads(run(".venv/bin/kt2", "lab", "status", "--json").stdout)}
    assert status[container]["state"] == "running" and status[container]["ssh"] == "ok"


def test_lab_up_recreates_a_host_whose_processes_died_behind_podmans_back(lab):
    # Killing the container's monitor and init (as a machine restored without its processes does) leaves
    # podman listing it "running" while it can neither exec, stop nor start it.
    container = next(h["container"] for h in lab if h["environment"] == "acc22")
    pids = run("podman", "inspect", container, "--format", "{{.State.ConmonPid}} {{.State.Pid}}").stdout.split()
    run("kill", "-9", *pids)
    # kill returns once the signal is sent; a systemd with its services takes a moment to be gone.
    deadline = time.monotonic() + 60
    while any(os.path.exists(f"/proc/{pid}") for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    listed = json.loads(run("podman", "ps", "--filter", f"name=^{container}$", "--format", "json").stdout)
    assert listed[0]["State"] == "running"
    status = run(".venv/bin/kt2", "lab", "status", "--json", check=False)
    assert status.returncode != 0
    assert {h["container"]: h["state"] for h in json.loads(status.stdout)}[container] == "stale"
    out = run(".venv/bin/kt2", "lab", "up").stdout
    assert f"recreated {container} (its processes had died behind podman's back)" in out
    status = {h["container"]: h for h in json.loads(run(".venv/bin/kt2", "lab", "status", "--json").stdout)}
    assert status[container]["state"] == "running" and status[container]["ssh"] == "ok"
