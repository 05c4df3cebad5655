"""The authentication service's checks of a client assertion and the access token it gives, and how the
FHIR server reads that token's scopes: refusals each with their own OAuth error."""

import asyncio
import time
import uuid

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from kt2ref.auth_service.app import MIRROR_ATTEMPTS, MIRROR_TIMEOUT, AuthService
from kt2ref.auth_service.assertions import (
    JWKS_ALGORITHMS,
    PEM_ALGORITHMS,
    TokenError,
    client_of,
    key_problem,
    pick_key,
    verify,
)
from kt2ref.auth_service.signing import SigningKeys, thumbprint
from kt2ref.auth_service.tokens import role_scopes
from kt2ref.common import BadRequest

TOKEN_URL = "https://prd2.example/api/v1/d/oauth2/token"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())


def assertion(key, algorithm="RS512", **changes):
    now = int(time.time())
    claims = {"iss": "ecd", "sub": "ecd", "aud": TOKEN_URL, "iat": now, "exp": now + 240, "jti": uuid.uuid4().hex}
    return jwt.encode({k: v for k, v in {**claims, **changes}.items() if v is not None}, key, algorithm=algorithm)


@pytest.mark.parametrize(("key", "algorithm"), [(RSA_KEY, "RS384"), (EC_KEY, "ES384"), (RSA_KEY, "RS512")])
def test_a_registered_jwks_may_sign_with_rs384_es384_and_rs512(key, algorithm):
    claims = verify(assertion(key, algorithm), "ecd", key.public_key(), JWKS_ALGORITHMS, TOKEN_URL)
    assert claims["sub"] == "ecd"


def _refusal(token):
    with pytest.raises(TokenError) as refused:
        verify(token, "ecd", RSA_KEY.public_key(), PEM_ALGORITHMS, TOKEN_URL)
    return refused.value.error, str(refused.value)


def test_a_registered_pem_key_signs_with_rs512_only():
    assert _refusal(assertion(RSA_KEY, "RS384")) == (
        "invalid_client", "client_assertion alg 'RS384' is not accepted for ecd; use RS512")


OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


# Made when the test runs, not when it is collected: the assertions carry times (a suite may run long before).
@pytest.mark.parametrize(("make", "message"), [
    (lambda: jwt.encode({"iss": "ecd"}, None, algorithm="none"), "client_assertion alg 'none' is not accepted"),
    (lambda: jwt.encode({"iss": "ecd"}, "a-shared-secret-of-32-bytes-long!", algorithm="HS256"),
     "client_assertion alg 'HS256' is not accepted"),
    (lambda: assertion(RSA_KEY, exp=int(time.time()) - 10), "client_assertion has expired"),
    (lambda: assertion(RSA_KEY, aud="https://acc22.example/api/v1/d/oauth2/token"), f"aud must be exactly {TOKEN_URL}"),
    (lambda: assertion(RSA_KEY, sub="other"), "sub must equal iss"),
    (lambda: assertion(RSA_KEY, exp=int(time.time()) + 3600), "valid for at most 5 minutes"),
    (lambda: assertion(RSA_KEY, jti=None), 'Token is missing the "jti" claim'),
    (lambda: assertion(OTHER_KEY), "not signed with the key registered for ecd on this environment"),
], ids=["none", "hs256", "expired", "audience", "sub", "lifetime", "jti", "foreign-key"])
def test_each_bad_assertion_is_refused_as_invalid_client_with_its_reason(make, message):
    error, description = _refusal(make())
    assert error == "invalid_client" and message in description


def test_the_request_must_be_a_client_credentials_grant_with_a_jwt_bearer_assertion():
    form = {"grant_type": "client_credentials", "client_assertion": assertion(RSA_KEY),
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    assert client_of(form) == "ecd"
    with pytest.raises(TokenError, match="grant_type must be client_credentials") as wrong:
        client_of({**form, "grant_type": "password"})
    assert wrong.value.error == "unsupported_grant_type"
    with pytest.raises(TokenError, match="client_assertion_type must be"):
        client_of({**form, "client_assertion_type": "basic"})


def test_a_jwks_with_several_keys_needs_the_kid():
    keys = jwt.PyJWKSet.from_dict({"keys": [
        {**jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True), "kid": "a"},
        {**jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True), "kid": "b"}]}).keys
    named = jwt.encode({"iss": "ecd"}, EC_KEY, algorithm="ES384", headers={"kid": "b"})
    assert pick_key(named, keys).public_numbers() == EC_KEY.public_key().public_numbers()
    with pytest.raises(TokenError, match="needs a kid"):
        pick_key(jwt.encode({"iss": "ecd"}, EC_KEY, algorithm="ES384"), keys)
    with pytest.raises(TokenError, match="no usable key with kid 'c'"):
        pick_key(jwt.encode({"iss": "ecd"}, EC_KEY, algorithm="ES384", headers={"kid": "c"}), keys)


def test_keys_too_weak_to_identify_an_application():
    assert key_problem(rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()) == \
        "RSA key of 1024 bits; at least 2048 are required"
    assert "ES384 needs P-384" in key_problem(ec.generate_private_key(ec.SECP256R1()).public_key())
    assert key_problem(RSA_KEY.public_key()) is None and key_problem(EC_KEY.public_key()) is None


def test_scopes_come_from_the_role_with_the_resource_origins_of_own_and_granted():
    role = {"permissions": [
        {"resource": "Patient", "operations": ["read"], "scope": "all"},
        {"resource": "Task", "operations": ["read", "update"], "scope": "granted", "granted": ["portal"]},
        {"resource": "RelatedPerson", "operations": ["create", "read"], "scope": "own"}]}
    scopes = role_scopes(role, "ecd")
    assert scopes == ["system/Patient.rs", "system/Task.rsu?resource-origin=Device/ecd,Device/portal",
                      "system/RelatedPerson.crs?resource-origin=Device/ecd"]


def test_the_jwks_publishes_public_halves_under_their_thumbprint(tmp_path):
    paths = []
    for name in ("new", "old"):
        path = tmp_path / f"{name}.key"
        path.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        paths.append(str(path))
    keys = SigningKeys(paths)
    published = keys.jwks()["keys"]
    assert [k["kid"] for k in published] == [thumbprint(k) for k in published]
    assert all(not {"d", "p", "q", "dp", "dq", "qi"} & k.keys() and k["alg"] == "RS512" for k in published)
    token = keys.sign({"sub": "ecd"})
    assert jwt.get_unverified_header(token)["kid"] == published[0]["kid"]  # the first key signs
    old_only = SigningKeys(paths[1:])
    assert keys.verify(old_only.sign({"sub": "x"}))["sub"] == "x"  # a rotated-out key still verifies
    with pytest.raises(jwt.InvalidKeyError):
        old_only.verify(token)


def test_a_fhir_server_that_does_not_answer_is_named_with_the_domain():
    """A domain change the FHIR server leaves unanswered is refused with 504 and the domain, not a bare 500."""
    def silent(request):
        raise httpx.ReadTimeout("no answer", request=request)

    service = AuthService.__new__(AuthService)
    service.fhir_contract = "http://127.0.0.1:8080/_contract"
    service.http = httpx.AsyncClient(transport=httpx.MockTransport(silent))
    with pytest.raises(BadRequest) as refused:
        asyncio.run(service._mirror("ggz-noorderlicht", "PUT", []))
    assert (refused.value.status, str(refused.value)) == (
        504, f"the FHIR server did not answer the change of domain ggz-noorderlicht within {MIRROR_TIMEOUT} s")


def test_a_domain_change_the_fhir_server_fails_once_is_tried_again(monkeypatch):
    """HAPI's 500 on a domain's first Devices (HAPI-2223) passes on a second try; a 4xx refusal is not retried,
    and a failure that stays is named with the domain and the server's answer."""
    answers = {"ggz-noorderlicht": [500, 200], "jeugdzorg-delta": [409], "ggz-groot-rivierenland": [500] * 5}
    asked = []

    def fhir(request):
        domain = request.url.path.rsplit("/", 1)[-1]
        asked.append(domain)
        status = answers[domain].pop(0)
        return httpx.Response(status, json={"changed": True} if status == 200 else {"error": f"HAPI {status}"})

    monkeypatch.setattr("kt2ref.auth_service.app.MIRROR_RETRY_PAUSE", 0)
    service = AuthService.__new__(AuthService)
    service.fhir_contract = "http://127.0.0.1:8080/_contract"
    service.http = httpx.AsyncClient(transport=httpx.MockTransport(fhir))
    assert asyncio.run(service._mirror("ggz-noorderlicht", "PUT", [])) == {"changed": True}
    with pytest.raises(BadRequest) as refused:
        asyncio.run(service._mirror("jeugdzorg-delta", "PUT", []))
    assert refused.value.status == 502 and "jeugdzorg-delta" in str(refused.value) and "HAPI 409" in str(refused.value)
    with pytest.raises(BadRequest) as failed:
        asyncio.run(service._mirror("ggz-groot-rivierenland", "PUT", []))
    assert failed.value.status == 502 and "HAPI 500" in str(failed.value)
    assert asked == ["ggz-noorderlicht"] * 2 + ["jeugdzorg-delta"] + ["ggz-groot-rivierenland"] * MIRROR_ATTEMPTS
