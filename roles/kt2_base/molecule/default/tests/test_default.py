"""What kt2_base promises, checked on the converged host."""

import re

MOLECULE_KEY = "molecule@kt2ops"


def _ssh_as_root(host, options: str):
    """A real SSH client logging in as root on the host itself. The scenarios run at nice 19 beside the lab
    tests: the banner can be slow, and sshd may close a connection that outlived LoginGraceTime (30 s) before
    it answers. Such a closed connection proves nothing, so it is tried again, up to three attempts."""
    for _ in range(3):
        result = host.run(f"ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o ConnectTimeout=120 {options} "
                          "root@127.0.0.1 true")
        if "Connection closed by" not in result.stderr:
            break
    return result


def test_password_login_is_refused(host):
    # Asking for password authentication, the client is told only keys are accepted: "(publickey)" is the list
    # of methods sshd still offers, so neither a password nor a network failure passes for this refusal.
    refused = _ssh_as_root(host, "-o PreferredAuthentications=password,keyboard-interactive")
    assert refused.rc == 255
    assert "root@127.0.0.1: Permission denied (publickey)." in refused.stderr
    # The twin: the same login with an admin key (converge.yml authorized one made on the host) gets in.
    admitted = _ssh_as_root(host, "-i /root/admin_key -o IdentitiesOnly=yes -o PreferredAuthentications=publickey")
    assert admitted.rc == 0, admitted.stderr


def test_effective_sshd_settings(host):
    effective = host.run("sshd -T -C user=root,host=localhost,addr=127.0.0.1").stdout.splitlines()
    for line in ("passwordauthentication no", "kbdinteractiveauthentication no",
                 "permitrootlogin without-password", "authenticationmethods publickey"):
        assert line in effective


def test_sshd_running(host):
    service = host.service("ssh")
    assert service.is_running
    assert service.is_enabled


def test_admin_key_authorized(host):
    keys = host.file("/root/.ssh/authorized_keys")
    assert keys.mode == 0o600
    assert MOLECULE_KEY in keys.content_string


def test_time_zone_amsterdam(host):
    assert host.file("/etc/localtime").linked_to == "/usr/share/zoneinfo/Europe/Amsterdam"
    assert host.file("/etc/timezone").content_string.strip() == "Europe/Amsterdam"
    assert host.run("date +%Z").stdout.strip() in ("CET", "CEST")


def test_no_pending_security_updates(host):
    # check_output fails on a failed simulation: apt-get failing cannot pass for "nothing pending".
    simulated = host.check_output("apt-get -s -o Debug::NoLocking=1 dist-upgrade")
    pending = [line for line in simulated.splitlines() if line.startswith("Inst") and "-security" in line]
    assert pending == []


def test_unattended_security_upgrades_enabled(host):
    assert host.package("unattended-upgrades").is_installed
    config = host.file("/etc/apt/apt.conf.d/20auto-upgrades").content_string
    assert re.search(r'APT::Periodic::Unattended-Upgrade "1";', config)
