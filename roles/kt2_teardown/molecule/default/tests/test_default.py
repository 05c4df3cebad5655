"""kt2_teardown: services, data, TLS material and nginx site are gone; nothing listens on 443."""


def test_services_and_data_removed(host):
    for unit in ("kt2-fhir-server", "kt2-auth-service"):
        assert not host.file(f"/etc/systemd/system/{unit}.service").exists, unit
    for path in ("/var/lib/kt2ref", "/opt/kt2ref", "/var/lib/kt2fhir", "/opt/kt2fhir", "/etc/kt2ops",
                 "/etc/nginx/conf.d/kt2ops.conf"):
        assert not host.file(path).exists, path


def test_database_dropped(host):
    host.check_output("systemctl start postgresql")
    # check_output fails on a failed query: an empty answer cannot pass for "dropped".
    databases = host.check_output("runuser -u postgres -- psql -XAtc 'SELECT datname FROM pg_database'").split()
    host.check_output("systemctl stop postgresql")
    assert "postgres" in databases and not {"kt2_molenv", "kt2auth_molenv"} & set(databases)


def test_nothing_listens_on_https(host):
    assert not [s for s in host.socket.get_listening_sockets() if s.endswith(":443")]
