"""kt2_fhir_server: the HAPI server runs from the checked jar as its own user with a bounded heap, listens on
loopback only, answers FHIR per domain, and the contract configures a domain idempotently."""

import json

PUT = ("python3 -c \"import sys, urllib.request; r = urllib.request.Request(sys.argv[1], method='PUT', "
       "data=sys.argv[2].encode(), headers={'Content-Type': 'application/json'}); "
       "print(urllib.request.urlopen(r).read().decode())\" ")
GET = ("python3 -c \"import sys, urllib.request, urllib.error\nr = urllib.request.Request(sys.argv[1], headers="
       "{'Authorization': 'Bearer ' + sys.argv[2]} if sys.argv[2:] else {})\ntry: print(urllib.request.urlopen(r)"
       ".read().decode())\nexcept urllib.error.HTTPError as e: print(e.code, e.read().decode())\" ")
# The authentication service is not part of this scenario: the test stands in for it with a key of its own, its
# JWKS where the server looks for it (jwksEndpoint) and a token signed with it (RS512, by openssl).
ISSUER = """
import base64, json, os, subprocess, sys, time
def b64(data): return base64.urlsafe_b64encode(data).rstrip(b'=').decode()
def openssl(*args, data=None):
    return subprocess.run(['openssl', *args], input=data, capture_output=True, check=True).stdout
openssl('genrsa', '-out', '/root/issuer.key', '2048')
modulus = openssl('rsa', '-in', '/root/issuer.key', '-noout', '-modulus').decode().strip().split('=')[1]
os.makedirs('/root/jwks/oauth2/.well-known', exist_ok=True)
with open('/root/jwks/oauth2/.well-known/jwks.json', 'w') as jwks:
    json.dump({'keys': [{'kty': 'RSA', 'alg': 'RS512', 'use': 'sig', 'kid': modulus[:16], 'e': 'AQAB',
                         'n': b64(bytes.fromhex(modulus))}]}, jwks)
claims = {'iss': sys.argv[1], 'aud': 'fhir-server', 'azp': sys.argv[2], 'scope': 'system/Patient.rs',
          'iat': int(time.time()), 'exp': int(time.time()) + 600}
header = {'alg': 'RS512', 'typ': 'JWT', 'kid': modulus[:16]}  # a new key has a new kid: the server fetches it
signed = b64(json.dumps(header).encode()) + '.' + b64(json.dumps(claims).encode())
print(signed + '.' + b64(openssl('dgst', '-sha512', '-sign', '/root/issuer.key', data=signed.encode())))
"""


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
    patients = "http://127.0.0.1:8080/api/v1/test-domain/fhir/r4/Patient"
    refused = host.run(GET + patients).stdout
    assert refused.startswith("401 ") and "an access token is required (Authorization: Bearer)" in refused
    # The twin: the same search with a token of ecd (the domain's application) that the server can verify.
    issuer = "https://molenv.koppeltaal.test/api/v1/test-domain/oauth2"
    bearer = host.check_output(f"python3 -c \"{ISSUER}\" {issuer} ecd")
    host.run("python3 -m http.server --bind 127.0.0.1 --directory /root/jwks 8085 >/dev/null 2>&1 &")
    listening = "for i in $(seq 600); do grep -qi ' 0100007F:1F95 00000000:0000 0A ' /proc/net/tcp && exit 0; " \
                "sleep 0.1; done; exit 1"
    assert host.run(listening).rc == 0
    answer = host.run(GET + f"{patients} {bearer}").stdout
    assert answer.startswith("{"), answer  # not a status and the server's OperationOutcome
    found = json.loads(answer)
    assert (found["resourceType"], found["type"]) == ("Bundle", "searchset")
