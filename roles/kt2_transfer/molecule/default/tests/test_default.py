"""What kt2_transfer promises, checked on the converged host with a real SFTP client."""

SSH = "-i /root/owner_key -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"


def test_owner_delivers_a_file_over_sftp_into_incoming(host):
    result = host.run(f"echo 'put /etc/hostname delivered.txt' | sftp {SSH} -b - kt2transfer@127.0.0.1")
    assert result.rc == 0, result.stderr
    delivered = host.file("/srv/kt2ops/transfer/incoming/delivered.txt")
    assert delivered.exists and delivered.user == "kt2transfer"


def test_no_shell_and_no_command(host):
    result = host.run(f"timeout 20 ssh {SSH} kt2transfer@127.0.0.1 id </dev/null")
    assert "uid=" not in result.stdout
    assert "This service allows sftp connections only." in result.stdout + result.stderr
    assert host.user("kt2transfer").shell == "/usr/sbin/nologin"


def test_locked_in_its_area(host):
    result = host.run(f"echo 'get /etc/hostname /tmp/escaped' | sftp {SSH} -b - kt2transfer@127.0.0.1")
    assert result.rc != 0
    assert 'File "/etc/hostname" not found.' in result.stderr  # the chroot has no /etc: not a login failure
    assert not host.file("/tmp/escaped").exists
    # The twin: the same get of a file in its area, by absolute path inside the chroot, works.
    result = host.run(f"printf 'put /etc/hostname inside.txt\\nget /incoming/inside.txt /tmp/fetched\\n' | "
                      f"sftp {SSH} -b - kt2transfer@127.0.0.1")
    assert result.rc == 0, result.stderr
    assert host.file("/tmp/fetched").content_string == host.file("/etc/hostname").content_string


def test_passwords_refused_and_no_ftp_or_telnet(host):
    result = host.run("ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o PubkeyAuthentication=no "
                      "-o PreferredAuthentications=password kt2transfer@127.0.0.1 true")
    assert result.rc == 255
    assert "Permission denied (publickey)" in result.stderr  # sshd offers keys only, not a network failure
    for package in ("vsftpd", "telnetd", "inetutils-telnetd"):
        assert not host.package(package).is_installed
