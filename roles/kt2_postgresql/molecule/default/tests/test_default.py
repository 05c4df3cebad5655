"""kt2_postgresql: the environment's database, owned by its role, reachable on the host only."""


def _psql(host, sql, user="postgres"):
    return host.run(f"runuser -u {user} -- psql -XAtc \"{sql}\"")


def test_postgresql_running(host):
    service = host.service("postgresql")
    assert service.is_running and service.is_enabled


def test_database_owned_by_the_service_role(host):
    owner = _psql(host, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'kt2_molenv'")
    assert owner.stdout.strip() == "kt2_fhir_server"
    encoding = _psql(host, "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'kt2_molenv'")
    assert encoding.stdout.strip() == "UTF8"


def test_owner_role_is_not_privileged(host):
    flags = _psql(host, "SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles "
                        "WHERE rolname = 'kt2_fhir_server'")
    assert flags.stdout.strip() == "f|f|f|t"


def test_listens_on_loopback_only(host):
    sockets = host.socket.get_listening_sockets()
    tcp_5432 = [s for s in sockets if s.startswith("tcp://") and s.endswith(":5432")]
    assert tcp_5432 and all(s.startswith(("tcp://127.0.0.1:", "tcp://::1:")) for s in tcp_5432), tcp_5432


def test_every_statement_is_planned_with_its_values(host):
    # A generic plan of a prepared statement made HAPI's conditional creates walk whole link lists.
    assert _psql(host, "SHOW plan_cache_mode").stdout.strip() == "force_custom_plan"
