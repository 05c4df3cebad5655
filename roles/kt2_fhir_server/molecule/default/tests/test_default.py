"""kt2_fhir_server: the HAPI server runs from the checked jar as its own user with a bounded heap, listens on
loopback only, answers FHIR per domain, and the contract configures a domain idempotently."""

import json

PUT = ("python3 -c \"import sys, urllib.request; r = urllib.request.Request(sys.argv[1], method='PUT', "
       "data=sys.argv[2].encode(), headers={'Content-Type': 'application/json'}); "
       "print(urllib.request.urlopen(r).read().decode())\" ")
GET = ("python3 -c \"import sys, urllib.request, urllib.error\ntry: print(urllib.request.urlopen(sys.argv[1]).read()"
       ".decode())\nexcept urllib.error.HTTPError as e: print(e.code, e.read().decode())\" ")


def test_running_from_the_checked_jar_with_a_bounded_heap(host):
    assert host.service("kt2-fhir-server").is_running
    command = host.run("ps -o user:20=,args= -C java").stdout
    assert command.startswith("kt2_fhir_server ")
    assert "-Xmx640m" in command and "-jar /opt/kt2fhir/current.jar" in command
    jar = host.file("/opt/kt2fhir/current.jar").linked_to
    assert jar.startswith("/opt/kt2fhir/releases/kt2fhir-") and jar.endswith(".jar")


def test_listening_on_loopback_only(host):
    sockets = [s for s in host.socket.get_listening_sockets() if s.endswith(":8080")]
    assert sockets == ["tcp://127.0.0.1:8080"]


def test_configuration_readable_by_the_service_only(host):
    config = host.file("/etc/kt2ops/kt2-fhir-server.yaml")
    assert (config.user, config.group, config.mode) == ("root", "kt2_fhir_server", 0o640)
    assert "jwksEndpoint: http://127.0.0.1:8085/oauth2/.well-known/jwks.json" in config.content_string


def test_domain_through_the_contract_is_idempotent_and_served(host):
    body = json.dumps({"name": "Test", "applications": {"ecd": {"name": "ECD", "supplier": "S", "kind": "ehr"}}})
    url = "http://127.0.0.1:8080/_contract/domains/test-domain"
    first = json.loads(host.run(PUT + f"{url} '{body}'").stdout)
    second = json.loads(host.run(PUT + f"{url} '{body}'").stdout)
    assert first["changed"] is True and second["changed"] is False
    metadata = json.loads(host.run(GET + "http://127.0.0.1:8080/api/v1/test-domain/fhir/r4/metadata").stdout)
    assert metadata["fhirVersion"] == "4.0.1"
    token = metadata["rest"][0]["security"]["extension"][0]["extension"][0]["valueUri"]
    assert token == "https://molenv.koppeltaal.test/api/v1/test-domain/oauth2/token"
    refused = host.run(GET + "http://127.0.0.1:8080/api/v1/test-domain/fhir/r4/Patient").stdout
    assert refused.startswith("401 ") and "an access token is required (Authorization: Bearer)" in refused
