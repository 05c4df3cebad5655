"""playbooks/site.yml on the lab: the baseline holds, a second run and check mode change nothing."""

import re

from tests.conftest import run
from tests.integration.conftest import outcome, playbook, recap

PKG = "libssl3"


def test_site_converges_then_is_idempotent(lab):
    first = playbook("playbooks/site.yml")
    assert first.returncode == 0, outcome(first)
    second = playbook("playbooks/site.yml")
    assert second.returncode == 0
    counts = recap(second.stdout)
    assert set(counts) == {h["host"] for h in lab} | {"localhost"}  # localhost: the vault check first
    assert all(c["changed"] == 0 and c["failed"] == 0 for c in counts.values()), counts
    check = playbook("playbooks/site.yml", "--check", "--diff")
    assert check.returncode == 0, outcome(check)
    assert all(c["changed"] == 0 and c["failed"] == 0 for c in recap(check.stdout).values()), outcome(check)


def test_password_logins_refused_from_outside(lab):
    for host in lab:
        proc = run("ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                   "-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no",
                   f"root@{host['address']}", "true", check=False)
        assert proc.returncode == 255
        assert "Permission denied (publickey)" in proc.stderr


def test_hosts_run_on_amsterdam_time(lab):
    proc = run(".venv/bin/ansible", "all", "-m", "ansible.builtin.command", "-a", "date +%Z", "-o")
    assert len(re.findall(r"\(stdout\) CES?T", proc.stdout)) == len(lab)


def _policy(container: str) -> tuple[str, str, str]:
    """Installed version, candidate (from the security archive) and the older one from bookworm/main."""
    out = run("podman", "exec", container, "apt-cache", "policy", PKG).stdout
    installed = re.search(r"Installed: (\S+)", out)[1]
    candidate = re.search(r"Candidate: (\S+)", out)[1]
    main = re.search(r"^ +(?:\*\*\* )?(\S+) \d+\n +\d+ \S+ bookworm/main ", out, re.M)[1]
    return installed, candidate, main


def test_pending_security_update_is_reported_in_check_mode_and_then_applied(lab):
    acc21 = next(h for h in lab if h["environment"] == "acc21")
    _, patched, older = _policy(acc21["container"])
    assert older != patched
    run("podman", "exec", acc21["container"], "apt-get", "install", "-y", "-q", "--allow-downgrades",
        f"{PKG}={older}")

    check = playbook("playbooks/site.yml", "-l", acc21["host"], "--check", "--diff")
    assert recap(check.stdout)[acc21["host"]]["changed"] == 1
    assert f"-{PKG} {older}" in check.stdout and f"+{PKG} {patched}" in check.stdout
    assert _policy(acc21["container"])[0] == older, "check mode changed the host"

    applied = playbook("playbooks/site.yml", "-l", acc21["host"])
    assert recap(applied.stdout)[acc21["host"]]["changed"] == 1
    assert _policy(acc21["container"])[0] == patched
