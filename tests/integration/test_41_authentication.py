"""KT 2.0 authentication as a SMART backend-services client sees it, with a client written here from the
specification (not the project's): discovery, assertions in RS384, ES384 and RS512, the access token checked
against the published JWKS, every refusal with its OAuth error, the domain admin's registrations, key
rotation with overlap, and a database restart under the service."""

import json
import ssl
import time
import uuid

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from kt2ref.client import LIMIT_PAUSE, limited

from kt2ops.secrets import read_secret
from tests.conftest import LAB_INVENTORY, run
from tests.integration.conftest import contract, host_of, ok, playbook

ENV, DOMAIN, OTHER_DOMAIN, EHR = "acc21", "ggz-noorderlicht", "jeugdzorg-delta", "noorderlicht-ecd"
AUTH = 8085
JWKS_PORT = 8899
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class SmartClient:
    """SMART backend services (hl7.org/fhir/smart-app-launch/backend-services.html) over the lab's TLS."""

    def __init__(self, lab, environment=ENV):
        self.host = host_of(lab, environment)
        self.name = f"{environment}.koppeltaal.test"
        context = ssl.create_default_context(cafile=str(LAB_INVENTORY / ".pki" / environment / "ca.crt"))
        self.http = httpx.Client(verify=context, timeout=30)

    def call(self, method, url, **kwargs):
        """A request as a well-behaved client sends it: again while the ingress's limit refuses it (the lab
        limits this machine's address as production does; the refusal reaches no service)."""
        target = url.replace(f"https://{self.name}", f"https://{self.host['address']}")
        headers = {"Host": self.name, **kwargs.pop("headers", {})}
        while limited(answer := self.http.request(method, target, headers=headers,
                                                  extensions={"sni_hostname": self.name}, **kwargs)):
            time.sleep(LIMIT_PAUSE)
        return answer

    def fhir_base(self, domain=DOMAIN):
        return f"https://{self.name}/api/v1/{domain}/fhir/r4"

    def discover(self, domain=DOMAIN):
        return self.call("GET", f"{self.fhir_base(domain)}/.well-known/smart-configuration").json()

    def assertion(self, client_id, key, algorithm, token_url, kid=None, **changes):
        now = int(time.time())
        claims = {"iss": client_id, "sub": client_id, "aud": token_url, "iat": now, "exp": now + 240,
                  "jti": uuid.uuid4().hex, **changes}
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid} if kid else None)

    def token(self, client_id, key, algorithm="RS512", domain=DOMAIN, kid=None, assertion=None, **changes):
        token_url = self.discover(domain)["token_endpoint"]
        return self.call("POST", token_url, data={
            "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion or self.assertion(client_id, key, algorithm, token_url, kid, **changes)})

    def search(self, access_token, domain=DOMAIN, query="Patient?_count=1"):
        return self.call("GET", f"{self.fhir_base(domain)}/{query}",
                         headers={"Authorization": f"Bearer {access_token}"})

    def introspect(self, token, caller, domain=DOMAIN):
        return self.call("POST", self.discover(domain)["introspection_endpoint"], data={"token": token},
                         headers={"Authorization": f"Bearer {caller}"}).json()

    def verify(self, access_token, domain=DOMAIN):
        """The access token's claims, checked against the JWKS the smart-configuration names."""
        config = self.discover(domain)
        jwks = jwt.PyJWKSet.from_dict(self.call("GET", config["jwks_uri"]).json())
        kid = jwt.get_unverified_header(access_token)["kid"]
        key = next(k for k in jwks.keys if k.key_id == kid)
        return jwt.decode(access_token, key.key, algorithms=["RS512"], audience="fhir-server", issuer=config["issuer"])


def app_key(environment=ENV, app=EHR, domain=DOMAIN):
    return serialization.load_pem_private_key(
        read_secret(LAB_INVENTORY / ".pki" / environment / "apps" / domain / f"{app}.key"), password=None)


def refused(response, status, error, text):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and text in body["error_description"], body
    return body


@pytest.fixture(scope="module")
def client(provisioned):
    smart = SmartClient(provisioned)
    yield smart
    smart.http.close()
    # The registrations made here go; the environment is as the domain files say (a provision run after this
    # module changes nothing).
    ok(playbook("playbooks/domains.yml", "-l", f"{ENV}.lab"))


@pytest.fixture(scope="module")
def jwks_server(provisioned):
    """A supplier's JWKS URL, served on the environment host's loopback (where the authentication service
    fetches it); write(name, jwks) publishes one."""
    host = host_of(provisioned, ENV)
    run("podman", "exec", host["container"], "mkdir", "-p", "/tmp/jwks")
    # A transient unit of the host's systemd, not a detached podman exec (which can keep podman from stopping
    # the container later).
    run("podman", "exec", host["container"], "systemd-run", "--unit", "kt2-test-jwks", "python3", "-m", "http.server",
        str(JWKS_PORT), "--bind", "127.0.0.1", "--directory", "/tmp/jwks")
    for _ in range(50):  # until it listens
        if run("podman", "exec", host["container"], "python3", "-c", "import urllib.request as u; "
               f"u.urlopen('http://127.0.0.1:{JWKS_PORT}/', timeout=1)", check=False).returncode == 0:
            break
        time.sleep(0.1)

    def write(name, keys):
        jwks = {"keys": [{**(RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm).to_jwk(
            key.public_key(), as_dict=True), "kid": kid, "use": "sig"} for kid, key in keys]}
        write_file = "import sys; open(sys.argv[1], 'w').write(sys.argv[2])"
        path = f"/tmp/jwks/{name}.json"
        run("podman", "exec", host["container"], "python3", "-c", write_file, path, json.dumps(jwks))
        return f"http://127.0.0.1:{JWKS_PORT}/{name}.json"

    yield write
    run("podman", "exec", host["container"], "systemctl", "stop", "kt2-test-jwks", check=False)


def register(lab, client_id, status=None, domain=DOMAIN, role="ehr", **key):
    host = host_of(lab, ENV)
    body = {"client_id": client_id, "name": f"Test {client_id}", "supplier": "Testers BV", "kind": "other",
            "role": role, **key, **({"status": status} if status else {})}
    return contract(host, AUTH, f"/_contract/domains/{domain}/applications", "POST", body)


def admin(lab, client_id, action, domain=DOMAIN):
    return contract(host_of(lab, ENV), AUTH, f"/_contract/domains/{domain}/applications/{client_id}/{action}", "POST")


def devices(lab, domain=DOMAIN):
    """The ids of the domain's active Devices, as the FHIR server (HAPI) stores them."""
    sql = ("SELECT r.fhir_id FROM hfj_resource r JOIN hfj_partition p ON p.part_id = r.partition_id "
           "JOIN hfj_res_ver v ON v.res_id = r.res_id AND v.res_ver = r.res_ver "
           f"WHERE p.part_name = '{domain}' AND r.res_type = 'Device' AND r.res_deleted_at IS NULL "
           "AND v.res_text_vc::jsonb ->> 'status' = 'active' ORDER BY 1")
    out = run("podman", "exec", host_of(lab, ENV)["container"], "runuser", "-u", "postgres", "--", "psql", "-qtA",
              f"kt2_{ENV}", "-c", sql).stdout
    return out.split()


@pytest.mark.lab
def test_discovery_through_the_capability_statement_and_smart_configuration(client):
    statement = client.call("GET", f"{client.fhir_base()}/metadata").json()
    (oauth,) = [e for e in statement["rest"][0]["security"]["extension"]
                if e["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"]
    token_url = next(e["valueUri"] for e in oauth["extension"] if e["url"] == "token")
    config = client.discover()
    assert config["token_endpoint"] == token_url == f"https://{ENV}.koppeltaal.test/api/v1/{DOMAIN}/oauth2/token"
    assert "client-confidential-asymmetric" in config["capabilities"]
    assert {"RS384", "ES384", "RS512"} <= set(config["token_endpoint_auth_signing_alg_values_supported"])
    oauth_side = client.call("GET", f"https://{client.name}/api/v1/{DOMAIN}/oauth2/.well-known/smart-configuration")
    assert oauth_side.json() == config
    assert client.call("GET", f"{client.fhir_base()}/Patient").status_code == 401  # metadata alone is open
    for key in client.call("GET", config["jwks_uri"]).json()["keys"]:
        assert key["kty"] == "RSA" and key["alg"] == "RS512" and not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()


@pytest.mark.lab
def test_rs512_with_the_registered_key_gives_a_token_the_jwks_verifies(client):
    answer = client.token(EHR, app_key())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"].lower() == "bearer" and body["expires_in"] <= 300
    claims = client.verify(body["access_token"])
    assert (claims["aud"], claims["azp"], claims["domain"]) == ("fhir-server", EHR, DOMAIN)
    assert claims["exp"] - claims["iat"] <= 300 and claims["scope"] == body["scope"]
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "RS512"
    assert client.search(body["access_token"]).status_code == 200
    introspected = client.introspect(body["access_token"], body["access_token"])
    assert introspected["active"] is True and introspected["azp"] == EHR


@pytest.mark.lab
def test_rs384_and_es384_assertions_against_a_registered_jwks_and_withdrawal_stops_the_token(provisioned, client,
                                                                                           jwks_server):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP384R1())
    client_id = f"jwks-{uuid.uuid4().hex[:8]}"
    url = jwks_server(client_id, [("r", rsa_key), ("e", ec_key)])
    status, answer = register(provisioned, client_id, jwks_url=url)
    assert status == 200 and answer["changed"], answer
    refused(client.token(client_id, rsa_key, "RS384", kid="r"), 401, "unauthorized_client", "is pending")
    assert client_id not in devices(provisioned)  # no Device before approval
    assert admin(provisioned, client_id, "approve")[1]["changed"]
    assert client_id in devices(provisioned)
    tokens = {}
    for algorithm, key, kid in (("RS384", rsa_key, "r"), ("ES384", ec_key, "e")):
        answer = client.token(client_id, key, algorithm, kid=kid)
        assert answer.status_code == 200, (algorithm, answer.text)
        tokens[algorithm] = answer.json()["access_token"]
        assert client.verify(tokens[algorithm])["azp"] == client_id
    assert client.search(tokens["ES384"]).status_code == 200
    refused(client.token(client_id, ec_key, "ES384"), 401, "invalid_client", "needs a kid")

    assert admin(provisioned, client_id, "withdraw")[1]["changed"]
    gone = client.search(tokens["RS384"])  # a live token of a withdrawn application stops at once
    assert gone.status_code == 401 and f"Device/{client_id} is not an application of domain" in gone.text
    refused(client.token(client_id, rsa_key, "RS384", kid="r"), 401, "unauthorized_client", "is withdrawn")
    caller = client.token(EHR, app_key()).json()["access_token"]
    assert client.introspect(tokens["RS384"], caller) == {"active": False}


@pytest.mark.lab
def test_every_bad_token_request_is_refused_with_its_oauth_error(provisioned, client):
    key = app_key()
    token_url = client.discover()["token_endpoint"]
    refused(client.token(EHR, app_key("acc22")), 401, "invalid_client", "not signed with the key registered")
    refused(client.token(EHR, key, exp=int(time.time()) - 5), 401, "invalid_client", "has expired")
    refused(client.token(EHR, key, aud=token_url.replace(DOMAIN, OTHER_DOMAIN)), 401, "invalid_client",
            f"aud must be exactly {token_url}")
    refused(client.token("nobody", key), 401, "invalid_client", "unknown client 'nobody'")
    unsigned = jwt.encode({"iss": EHR, "sub": EHR, "aud": token_url, "exp": int(time.time()) + 60, "jti": "x"},
                          None, algorithm="none")
    refused(client.token(EHR, None, assertion=unsigned), 401, "invalid_client", "alg 'none' is not accepted")
    shared = client.assertion(EHR, "a-shared-secret-of-at-least-32-bytes", "HS256", token_url)
    refused(client.token(EHR, None, assertion=shared), 401, "invalid_client", "alg 'HS256' is not accepted")
    refused(client.token(EHR, key, "RS384"), 401, "invalid_client", "use RS512")  # a PEM key: RS512 only
    once = client.assertion(EHR, key, "RS512", token_url)
    assert client.token(EHR, None, assertion=once).status_code == 200
    refused(client.token(EHR, None, assertion=once), 401, "invalid_client", "already used (jti)")

    delta_token = client.token("delta-ecd", app_key(app="delta-ecd", domain=OTHER_DOMAIN), domain=OTHER_DOMAIN)
    elsewhere = client.search(delta_token.json()["access_token"], domain=DOMAIN)
    assert elsewhere.status_code == 403 and f"not for domain {DOMAIN}" in elsewhere.text


@pytest.mark.lab
def test_a_closed_domain_gives_tokens_to_its_domain_admin_only(provisioned, client):
    host = host_of(provisioned, ENV)
    traffic = f"/_contract/domains/{DOMAIN}/traffic"
    assert contract(host, AUTH, traffic, "PUT", {"traffic": "closed"})[1]["changed"]
    try:
        refused(client.token(EHR, app_key()), 503, "temporarily_unavailable", "closed for traffic")
        admin = client.token("kt2ops-admin", app_key(app="kt2ops-admin"))
        assert admin.status_code == 200
        assert client.search(admin.json()["access_token"]).status_code == 200
        assert contract(host, 8080, traffic)[1] == {"traffic": "closed"}  # mirrored
        # Being migrated, the applications get tokens again to publish their data.
        assert contract(host, AUTH, traffic, "PUT", {"traffic": "migration"})[1]["changed"]
        assert client.token(EHR, app_key()).status_code == 200
    finally:
        contract(host, AUTH, traffic, "PUT", {"traffic": "open"})
    assert client.token(EHR, app_key()).status_code == 200


@pytest.mark.lab
def test_the_domain_admin_refuses_bad_registrations_and_changes_nothing(provisioned, jwks_server):
    host = host_of(provisioned, ENV)
    before = (contract(host, AUTH, f"/_contract/domains/{DOMAIN}/applications")[1], devices(provisioned))
    pem = lambda bits: rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key().public_bytes(  # noqa: E731
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    empty = jwks_server("empty", [])
    cases = [
        (register(provisioned, "short-key", public_key=pem(1024)), "public_key: RSA key of 1024 bits"),
        (register(provisioned, "no-role", role="astronaut", public_key=pem(2048)), "unknown role 'astronaut'"),
        (register(provisioned, "dead-jwks", jwks_url="http://127.0.0.1:9/jwks.json"), "does not answer with a JWKS"),
        (register(provisioned, "empty-jwks", jwks_url=empty), "holds no usable key"),
        (register(provisioned, EHR, public_key=pem(2048)), f"client id {EHR} is already registered"),
    ]
    for (status, answer), message in cases:
        assert status in (409, 422) and message in json.dumps(answer), (message, answer)
    assert (contract(host, AUTH, f"/_contract/domains/{DOMAIN}/applications")[1], devices(provisioned)) == before


@pytest.mark.lab
def test_a_rotated_signing_key_stays_published_while_its_tokens_live(provisioned, client):
    before = client.token(EHR, app_key()).json()["access_token"]
    old_kid = jwt.get_unverified_header(before)["kid"]
    ok(playbook("playbooks/rotate_signing_key.yml", "-l", ENV))
    after = client.token(EHR, app_key()).json()["access_token"]
    new_kid = jwt.get_unverified_header(after)["kid"]
    assert new_kid != old_kid
    published = [k["kid"] for k in client.call("GET", client.discover()["jwks_uri"]).json()["keys"]]
    assert published == [new_kid, old_kid]
    assert client.verify(before)["azp"] == EHR
    assert client.search(before).status_code == 200 and client.search(after).status_code == 200
    # After the overlap a run removes the old key from the JWKS (so a later provision run changes nothing).
    ok(playbook("playbooks/provision.yml", "-l", f"{ENV}.lab", "-e", "kt2_auth_service_key_overlap_minutes=0"))
    assert [k["kid"] for k in client.call("GET", client.discover()["jwks_uri"]).json()["keys"]] == [new_kid]
    assert client.search(after).status_code == 200


@pytest.mark.lab
def test_the_service_answers_after_its_database_restarts(provisioned, client):
    assert client.token(EHR, app_key()).status_code == 200  # the pool holds connections now
    run("podman", "exec", host_of(provisioned, ENV)["container"], "systemctl", "restart", "postgresql")
    statuses = [client.token(EHR, app_key()).status_code for _ in range(4)]
    assert statuses == [200] * 4
