"""The reference services' KT 2.0 client keeps a long-running application working: it renews its access
token before it expires, and once when the server refuses one as expired (the token endpoint and FHIR
server are faked at the HTTP boundary)."""

import certifi
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from kt2ref import client as client_module
from kt2ref.client import Kt2Client


class FakePlatform:
    """Token endpoint issuing numbered tokens; FHIR answers 200 to a token it has not marked expired."""

    def __init__(self):
        self.issued, self.expired = 0, set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            self.issued += 1
            return httpx.Response(200, json={"access_token": f"t{self.issued}", "expires_in": 300})
        token = request.headers["authorization"].removeprefix("Bearer ")
        return httpx.Response(401 if token in self.expired else 200, json={"token": token})


def _client(platform):
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    client = Kt2Client("https://prd2.example", "d", "app", pem, certifi.where())
    client.http = httpx.Client(transport=httpx.MockTransport(platform))
    return client


def test_a_token_is_renewed_before_it_expires(monkeypatch):
    platform, now = FakePlatform(), [1000.0]
    monkeypatch.setattr(client_module.time, "monotonic", lambda: now[0])
    client = _client(platform)
    assert client.fhir("GET", "Patient").json() == {"token": "t1"}
    now[0] += 269  # within its 300 s less the 30 s margin: the same token
    assert client.fhir("GET", "Patient").json() == {"token": "t1"}
    now[0] += 2
    assert client.fhir("GET", "Patient").json() == {"token": "t2"} and platform.issued == 2


def test_a_token_refused_as_expired_is_renewed_once():
    platform = FakePlatform()
    client = _client(platform)
    assert client.fhir("GET", "Patient").json() == {"token": "t1"}
    platform.expired.add("t1")
    assert client.fhir("GET", "Patient").json() == {"token": "t2"}
    platform.expired.add("t2")
    platform.expired.add("t3")
    assert client.fhir("GET", "Patient").status_code == 401 and platform.issued == 3  # renewed once, not more
