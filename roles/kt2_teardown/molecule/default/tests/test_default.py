"""kt2_teardown: services, data, TLS material and nginx site are gone; nothing listens on 443."""


def test_services_and_data_removed(host):
    assert not host.file("/etc/systemd/system/kt2-resource-service.service").exists
    for path in ("/var/lib/kt2ref", "/opt/kt2ref", "/etc/kt2ops", "/etc/nginx/conf.d/kt2ops.conf"):
        assert not host.file(path).exists, path


def test_database_dropped(host):
    host.check_output("systemctl start postgresql")
    # check_output fails on a failed query: an empty answer cannot pass for "dropped".
    databases = host.check_output("runuser -u postgres -- psql -XAtc 'SELECT datname FROM pg_database'").split()
    host.check_output("systemctl stop postgresql")
    assert "postgres" in databases and "kt2_molenv" not in databases


def test_nothing_listens_on_https(host):
    assert not [s for s in host.socket.get_listening_sockets() if s.endswith(":443")]
