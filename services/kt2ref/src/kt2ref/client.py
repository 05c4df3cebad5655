"""A KT 2.0 application's side of SMART backend services: sign an assertion, get a token, call FHIR; a
refusal of the ingress's request limit is waited out, as a well-behaved client does. Used by the reference
application service, the tests and the benchmarks."""

import ssl
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt

# KT 2.0's resources declare their profile: this and the type (KT2Patient, ...).
KT2_PROFILE_BASE = "http://koppeltaal.nl/fhir/StructureDefinition/KT2"
LIMIT_PATIENCE = 120.0  # seconds a request waits out the ingress's limit before its refusal is returned
LIMIT_PAUSE = 0.25  # between tries: about the time in which a limit of a few requests/s frees one


class Refused(PermissionError):
    """The platform answered a request with an error; status says which (503: the domain is not open)."""

    def __init__(self, what: str, response: httpx.Response) -> None:
        super().__init__(f"{what} refused: {response.status_code} {response.text}")
        self.status = response.status_code


def limited(response: httpx.Response) -> bool:
    """The ingress's limiter refused (nginx's own 503 page); the platform's own 503 is JSON."""
    return response.status_code == 503 and "json" not in response.headers.get("content-type", "")


class Kt2Client:
    """An application of one domain on one environment.

    base_url is the public name (https://acc22.koppeltaal.test), which the token audience and TLS
    certificate use; connect_host is where to connect when that name is not in DNS (the lab)."""

    def __init__(self, base_url: str, domain: str, client_id: str, private_key_pem: bytes, ca_file: str,
                 connect_host: str | None = None, algorithm: str = "RS512", timeout: float = 30) -> None:
        self.public = base_url.rstrip("/")
        self.hostname = httpx.URL(self.public).host
        self.domain = domain
        self.client_id = client_id
        self.private_key = private_key_pem
        self.algorithm = algorithm
        self.connect = f"https://{connect_host}" if connect_host else self.public
        self.http = httpx.Client(verify=ssl.create_default_context(cafile=ca_file), timeout=timeout)
        self._token: tuple[str, float] | None = None  # the access token and when to renew it (monotonic)

    @property
    def token_url(self) -> str:
        return f"{self.public}/api/v1/{self.domain}/oauth2/token"

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to a path under the public name, sent to connect_host with the right SNI and Host; sent
        again while the ingress's limit refuses it (for up to LIMIT_PATIENCE seconds)."""
        headers = {"Host": self.hostname, **kwargs.pop("headers", {})}
        give_up = time.monotonic() + LIMIT_PATIENCE
        while True:
            response = self.http.request(method, self.connect + path, headers=headers,
                                         extensions={"sni_hostname": self.hostname}, **kwargs)
            if not limited(response) or time.monotonic() > give_up:
                return response
            time.sleep(LIMIT_PAUSE)

    def assertion(self) -> str:
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": self.token_url, "iat": now,
                  "exp": now + 240, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, self.private_key, algorithm=self.algorithm)

    def request_token(self) -> httpx.Response:
        return self.request("POST", f"/api/v1/{self.domain}/oauth2/token", data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self.assertion()})

    def token(self) -> str:
        """The access token, renewed 30 s before it expires (a long-running application outlives many)."""
        if self._token is None or time.monotonic() > self._token[1]:
            response = self.request_token()
            if response.status_code != 200:
                raise Refused(f"token request for {self.client_id}", response)
            body = response.json()
            self._token = (body["access_token"], time.monotonic() + max(int(body.get("expires_in", 300)) - 30, 5))
        return self._token[0]

    def fhir(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A FHIR call relative to the domain's base (e.g. 'Patient?_summary=count'), with the token; a
        token refused as expired (clocks differ) is renewed once."""
        base = f"/api/v1/{self.domain}/fhir/r4"
        extra = kwargs.pop("headers", {})
        for renewed in (False, True):
            headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/fhir+json", **extra}
            url = base + ("" if not path or path.startswith("?") else "/") + path
            response = self.request(method, url, headers=headers, **kwargs)
            if response.status_code != 401 or renewed:
                return response
            self._token = None
        raise AssertionError("unreachable")

    def search(self, path: str) -> Iterator[dict[str, Any]]:
        """Every resource a search finds (e.g. 'Patient?_count=500'), page by page along the next links."""
        base = f"{self.public}/api/v1/{self.domain}/fhir/r4"
        while path is not None:
            response = self.fhir("GET", path)
            if response.status_code != 200:
                raise Refused(f"search {path}", response)
            bundle = response.json()
            yield from (entry["resource"] for entry in bundle.get("entry", []))
            path = next((link["url"].removeprefix(base).lstrip("/") for link in bundle.get("link", [])
                         if link["relation"] == "next"), None)

    def close(self) -> None:
        self.http.close()
