"""kt2_resource_service: healthy on loopback, tenants kept apart by forced row-level security, and the
contract configures a domain idempotently."""

import json

CALL = ("python3 -c \"import json, sys, urllib.request; r = urllib.request.Request(sys.argv[1], method='PUT', "
        "data=sys.argv[2].encode(), headers={'Content-Type': 'application/json'}); "
        "print(urllib.request.urlopen(r).read().decode())\" ")


def test_running_and_healthy(host):
    assert host.service("kt2-resource-service").is_running
    sockets = [s for s in host.socket.get_listening_sockets() if s.endswith(":8080")]
    assert sockets == ["tcp://127.0.0.1:8080"]


def test_row_level_security_is_forced(host):
    out = host.run("runuser -u postgres -- psql -XAt -d kt2_molenv -c "
                   "\"SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'resources'\"")
    assert out.stdout.strip() == "t|t"


def test_domain_through_the_contract_is_idempotent(host):
    body = json.dumps({"name": "Test", "applications": {"ecd": {"name": "ECD", "supplier": "S", "kind": "ehr"}}})
    url = "http://127.0.0.1:8080/_contract/domains/test-domain"
    first = json.loads(host.run(CALL + f"{url} '{body}'").stdout)
    second = json.loads(host.run(CALL + f"{url} '{body}'").stdout)
    assert first["changed"] is True
    assert second["changed"] is False
