"""provision.yml's PostgreSQL on the lab: one database per environment, reachable on its host only."""

from concurrent.futures import ThreadPoolExecutor

from tests.conftest import run
from tests.integration.conftest import psql as _psql


def test_each_environment_has_its_own_database(provisioned):
    for host in provisioned:
        env = host["environment"]
        # The KT 1.3 server has a database of its own; each KT 2.0 environment one for its FHIR server and
        # one for its authentication service, each owned by its service's role.
        wanted = {"kt13": "kt13_server"} if env == "kt13" else {
            f"kt2_{env}": "kt2_fhir_server", f"kt2auth_{env}": "kt2_auth_service"}
        databases = _psql(host["container"], "SELECT datname FROM pg_database WHERE datname NOT LIKE 'template%' "
                                             "AND datname <> 'postgres'")
        assert sorted(databases.split()) == sorted(wanted)
        for database, owner in wanted.items():
            assert _psql(host["container"], f"SELECT pg_get_userbyid(datdba) FROM pg_database "
                                            f"WHERE datname = '{database}'") == owner


def test_database_is_not_reachable_from_outside_its_host(provisioned):
    def probe(host):
        own = run("podman", "exec", host["container"], "bash", "-c", "</dev/tcp/127.0.0.1/5432", check=False)
        remote = run("bash", "-c", f"timeout 3 bash -c '</dev/tcp/{host['address']}/5432'", check=False)
        return own.returncode, remote.returncode

    with ThreadPoolExecutor(max_workers=5) as pool:
        for host, (own, remote) in zip(provisioned, pool.map(probe, provisioned), strict=True):
            assert own == 0, f"PostgreSQL on {host['host']} does not answer on loopback"
            assert remote != 0, f"PostgreSQL on {host['host']} answers on its network address"
