"""playbooks/security.yml on the lab (appendix B.5): a firewall computed from the inventory that links
no environment to another, proven with real TCP connections."""

import itertools
import json
from concurrent.futures import ThreadPoolExecutor

import yaml

from kt2ops.ssh_agent import identity_args
from tests.conftest import LAB_INVENTORY, run
from tests.integration.conftest import gateway, host_of, outcome, playbook, recap, tcp


def test_second_run_and_check_mode_change_nothing(secured):
    lab = secured
    again = playbook("playbooks/security.yml")
    assert all(c["changed"] == 0 and c["failed"] == 0 for c in recap(again.stdout).values()), outcome(again)
    check = playbook("playbooks/security.yml", "--check", "--diff")
    assert check.returncode == 0, outcome(check)
    assert all(c["changed"] == 0 and c["failed"] == 0 for c in recap(check.stdout).values()), outcome(check)
    assert {h for h in recap(again.stdout)} == {h["host"] for h in lab} | {"localhost"}  # the vault check


def test_ruleset_refuses_exactly_the_other_environments(secured):
    lab = secured
    for host in lab:
        ruleset = json.loads(run("podman", "exec", host["container"], "nft", "-j", "list", "ruleset").stdout)
        sets = [e["set"] for e in ruleset["nftables"] if "set" in e and e["set"]["name"] == "other_environments"]
        elements = {f"{e['prefix']['addr']}/{e['prefix']['len']}" for e in sets[0]["elem"]}
        assert elements == {h["subnet"] for h in lab if h is not host}, host["host"]


def test_connection_matrix(secured):
    """From each environment host to every other one, every TCP attempt fails; to itself the service
    port answers."""
    lab = secured
    pairs = [(src, dst, port) for src, dst in itertools.product(lab, lab) for port in (22, 443)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda p: tcp(p[0]["container"], p[1]["address"], p[2]), pairs))
    for (src, dst, port), connected in zip(pairs, results, strict=True):
        if src is dst:
            assert connected, f"{src['host']} cannot reach its own port {port}"
        else:
            assert not connected, f"{src['host']} opened a TCP connection to {dst['host']}:{port}"


def test_firewall_itself_stops_what_the_network_would_let_through(secured, control_listener):
    lab = secured
    mgr2, prd2 = host_of(lab, "mgr2"), host_of(lab, "prd2")
    assert tcp(mgr2["container"], gateway(mgr2), control_listener)  # its own network's gateway: allowed
    assert not tcp(mgr2["container"], gateway(prd2), control_listener)  # prd2's network: refused
    # Without the firewall the same connection goes through: the rule is what holds it back.
    run("podman", "exec", mgr2["container"], "nft", "flush", "ruleset")
    try:
        assert tcp(mgr2["container"], gateway(prd2), control_listener)
    finally:
        restored = playbook("playbooks/security.yml", "-l", "mgr2")
        assert restored.returncode == 0 and recap(restored.stdout)["mgr2.lab"]["changed"] > 0
    assert not tcp(mgr2["container"], gateway(prd2), control_listener)


def test_configuration_pointing_at_another_environment_is_refused(secured, lab_inventory_copy):
    lab = secured
    vars_file = lab_inventory_copy / "group_vars" / "mgr2.yml"
    data = yaml.safe_load(vars_file.read_text())
    data["kt2_app_service_upstream"] = "https://prd2.koppeltaal.test/api/"
    vars_file.write_text(yaml.safe_dump(data))
    before = run("podman", "exec", host_of(lab, "mgr2")["container"], "nft", "list", "ruleset").stdout
    proc = playbook("-i", str(lab_inventory_copy), "playbooks/security.yml")
    assert proc.returncode != 0
    assert "mgr2.lab (mgr2) is configured to reach another environment" in proc.stdout
    assert "kt2_app_service_upstream: 'https://prd2.koppeltaal.test/api/' points at prd2" in proc.stdout
    assert recap(proc.stdout)["mgr2.lab"]["changed"] == 0
    assert run("podman", "exec", host_of(lab, "mgr2")["container"], "nft", "list", "ruleset").stdout == before


def test_data_arrives_only_over_chrooted_sftp(secured, tmp_path):
    lab = secured
    mgr2 = host_of(lab, "mgr2")
    lab_dir = LAB_INVENTORY / ".lab"
    ssh = [*identity_args(str(lab_dir / "id_ed25519")), "-o", f"UserKnownHostsFile={lab_dir / 'known_hosts'}",
           "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"]
    package = tmp_path / "package.tar.age"
    package.write_bytes(b"age-encryption.org/v1 stand-in")
    batch = tmp_path / "batch"
    batch.write_text(f"put {package} package.tar.age\n")
    put = run("sftp", *ssh, "-b", str(batch), f"kt2transfer@{mgr2['address']}", check=False)
    assert put.returncode == 0, put.stderr
    try:
        stat = run("podman", "exec", mgr2["container"], "stat", "-c", "%U",
                   "/srv/kt2ops/transfer/incoming/package.tar.age").stdout.strip()
        assert stat == "kt2transfer"
        # The same login as root runs a command (positive twin); as kt2transfer sshd refuses it by name.
        assert "uid=0(root)" in run("ssh", *ssh, "-n", f"root@{mgr2['address']}", "id").stdout
        shell = run("timeout", "20", "ssh", *ssh, "-n", f"kt2transfer@{mgr2['address']}", "id", check=False)
        assert shell.returncode == 1 and "uid=" not in shell.stdout
        assert "This service allows sftp connections only." in shell.stdout
        escape = tmp_path / "escape"
        escape.write_text("get /etc/shadow shadow\n")
        assert run("sftp", *ssh, "-b", str(escape), f"kt2transfer@{mgr2['address']}", check=False).returncode != 0
    finally:
        run("podman", "exec", mgr2["container"], "rm", "-f", "/srv/kt2ops/transfer/incoming/package.tar.age")


def test_package_delivered_over_sftp_is_verified_where_it_arrived(secured, tmp_path):
    """B.2 receiving side: a sealed package and its manifest arrive over SFTP; receive.yml verifies them on
    mgr2 and records the result (idempotent); one changed byte fails the run and is recorded as failed."""
    mgr2 = host_of(secured, "mgr2")
    lab_dir = LAB_INVENTORY / ".lab"
    ssh = [*identity_args(str(lab_dir / "id_ed25519")), "-o", f"UserKnownHostsFile={lab_dir / 'known_hosts'}",
           "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"]
    export = tmp_path / "export"
    export.mkdir()
    (export / "messages.jsonl").write_text('{"event": "CreateOrUpdatePatient"}\n' * 1000)
    run(".venv/bin/kt2", "package", "seal", str(export), "--out", str(tmp_path / "out"), "--name", "copy",
        "--key-out", str(tmp_path / "key" / "copy.key"))
    batch = tmp_path / "batch"
    batch.write_text("".join(f"put {tmp_path / 'out' / n} {n}\n" for n in ("copy.tar.age", "copy.manifest.json")))
    assert run("sftp", *ssh, "-b", str(batch), f"kt2transfer@{mgr2['address']}", check=False).returncode == 0
    area = "/srv/kt2ops/transfer/incoming"
    record = ["podman", "exec", mgr2["container"], "cat", f"{area}/copy.verified.json"]
    try:
        first = playbook("playbooks/receive.yml", "-l", "mgr2.lab")
        assert first.returncode == 0 and recap(first.stdout)["mgr2.lab"]["changed"] == 1, outcome(first)
        assert json.loads(run(*record).stdout)["ok"] is True
        again = playbook("playbooks/receive.yml", "-l", "mgr2.lab")
        assert recap(again.stdout)["mgr2.lab"]["changed"] == 0
        flip = ("import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=1; "
                "open(p,'wb').write(bytes(b))")
        run("podman", "exec", mgr2["container"], "python3", "-c", flip, f"{area}/copy.tar.age")
        broken = playbook("playbooks/receive.yml", "-l", "mgr2.lab")
        assert broken.returncode != 0 and f"{area}/copy.tar.age: SHA-256" in broken.stdout
        assert json.loads(run(*record).stdout)["ok"] is False
    finally:
        run("podman", "exec", mgr2["container"], "sh", "-c", f"rm -f {area}/copy.*")
