"""kt2_auth_service: healthy on loopback, its JWKS publishes public keys only, the domain admin refuses a short
key and registers an application idempotently, mirrored to the FHIR server as a Device with the client
id as its id."""

import json

CALL = ("python3 -c \"import json, sys, urllib.request, urllib.error; r = urllib.request.Request(sys.argv[1], "
        "method=sys.argv[2], data=sys.argv[3].encode() or None, headers={'Content-Type': 'application/json'})\n"
        "try: a = urllib.request.urlopen(r)\nexcept urllib.error.HTTPError as e: a = e\n"
        "print(a.status); print(a.read().decode())\" ")
KEY = ("python3 -c \"import sys; sys.path.insert(0, '/opt/kt2ref/current/lib'); "
       "from cryptography.hazmat.primitives.asymmetric import rsa; from cryptography.hazmat.primitives import "
       "serialization as s; k = rsa.generate_private_key(public_exponent=65537, key_size=int(sys.argv[1])); "
       "print(k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo).decode())\" ")


def call(host, url, method="GET", body=None):
    out = host.run(CALL + f"{url} {method} '{json.dumps(body) if body is not None else ''}'").stdout
    status, _, text = out.partition("\n")
    return int(status), json.loads(text)


def test_running_on_loopback_only(host):
    assert host.service("kt2-auth-service").is_running
    sockets = [s for s in host.socket.get_listening_sockets() if s.endswith(":8085")]
    assert sockets == ["tcp://127.0.0.1:8085"]


def test_jwks_publishes_public_rsa_keys_only(host):
    status, jwks = call(host, "http://127.0.0.1:8085/api/v1/any/oauth2/.well-known/jwks.json")
    assert status == 200 and len(jwks["keys"]) == 1
    (key,) = jwks["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS512", "sig") and key["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()


def test_domain_admin_registers_once_and_refuses_a_short_key(host):
    url = "http://127.0.0.1:8085/_contract/domains/test-domain"
    roles = {"ehr": {"permissions": [{"resource": "Patient", "operations": ["read"], "scope": "all"}]}}
    app = {"name": "ECD", "supplier": "S", "kind": "ehr", "role": "ehr"}
    short = {"name": "Test", "roles": roles, "applications": {"ecd": {**app, "public_key": host.run(KEY + "1024").stdout}}}
    status, refused = call(host, url, "PUT", short)
    assert status == 422 and "application ecd: public_key: RSA key of 1024 bits" in json.dumps(refused)
    body = {**short, "applications": {"ecd": {**app, "public_key": host.run(KEY + "2048").stdout}}}
    assert call(host, url, "PUT", body)[1]["changed"] is True
    assert call(host, url, "PUT", body)[1]["changed"] is False
    # The Device as the FHIR server (HAPI) stores it in the domain's partition.
    out = host.run("runuser -u postgres -- psql -XAt -d kt2_molenv -c "
                   "\"SELECT v.res_text_vc::jsonb->'identifier'->0->>'system' FROM hfj_resource r "
                   "JOIN hfj_partition p ON p.part_id = r.partition_id "
                   "JOIN hfj_res_ver v ON v.res_id = r.res_id AND v.res_ver = r.res_ver "
                   "WHERE p.part_name = 'test-domain' AND r.res_type = 'Device' AND r.fhir_id = 'ecd'\"")
    assert out.stdout.strip().splitlines()[-1] == "http://vzvz.nl/fhir/NamingSystem/koppeltaal-client-id"
