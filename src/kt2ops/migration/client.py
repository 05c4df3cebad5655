"""The migration's side of KT 2.0: an application with SMART backend-services authorisation (a signed
client assertion for a short-lived token, renewed before it expires), FHIR calls that ride out a restart
of the server or its database (retried with backoff for a bounded time, each retry reported) and the
ingress's request limit (paced beneath it, its refusals waited out), transaction Bundles, counts
(`_summary=count`) and paged reads."""

from __future__ import annotations

import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import httpx
import jwt

from kt2ops.errors import Kt2OpsError

# A server or its database restarting: nginx's 502/504 while the FHIR server is down, its 500 while the
# database is. (A 503 of the platform itself, e.g. a closed domain, is deliberate: not retried.)
TRANSIENT = {500, 502, 504}
LIMITER_PAUSE_MAX = 2.0  # seconds between tries while the ingress keeps refusing (it frees a request each 1/rate s)


def limited(response: httpx.Response) -> bool:
    """The ingress's limiter refused the request: a 503 of nginx itself (its HTML page). The platform's own 503
    (a closed domain, a migration window) is a FHIR OperationOutcome or an OAuth error, always JSON."""
    return response.status_code == 503 and "json" not in response.headers.get("content-type", "")


class Pacer:
    """Keeps the requests of every client that shares it (one source address) at `rate` per second, so the
    ingress's limit is not reached by this process; thread-safe."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


class FhirError(Kt2OpsError, RuntimeError):
    """A FHIR call failed; the message names the call and the server's diagnostics."""

    def __init__(self, what: str, response: httpx.Response) -> None:
        super().__init__(f"{what}: HTTP {response.status_code}: {diagnostics(response)}")
        self.status = response.status_code


def diagnostics(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    issues = body.get("issue") if isinstance(body, dict) else None
    if issues:
        return "; ".join(str(i.get("diagnostics") or i.get("code")) for i in issues)[:500]
    return str(body.get("error_description") or body)[:300] if isinstance(body, dict) else str(body)[:300]


class FhirClient:
    """One application of one domain on one environment. `base_url` is the public name (token audience,
    TLS name); `connect_host` where to connect when that name is not in DNS (the lab). A transient failure
    is retried for up to `patience` seconds, each retry told to `on_retry`. With a `pacer` (the ingress limits
    requests per client address) every request waits its turn; a limiter's refusal is waited out however long
    it lasts: back-pressure, never the end of a run."""

    def __init__(self, base_url: str, domain: str, client_id: str, private_key_pem: bytes, ca_file: str,
                 connect_host: str | None = None, timeout: float = 120, patience: float = 300,
                 on_retry: Callable[[str], None] | None = None, pacer: Pacer | None = None) -> None:
        public = httpx.URL(base_url.rstrip("/"))
        self.hostname = public.host
        self.domain = domain
        self.client_id = client_id
        self._key = private_key_pem
        self.token_url = f"{public}/api/v1/{domain}/oauth2/token"
        self.patience = patience
        self.on_retry = on_retry or (lambda message: None)
        origin = f"https://{connect_host}" if connect_host else str(public)
        self.http = httpx.Client(base_url=origin, verify=ssl.create_default_context(cafile=ca_file),
                                 timeout=timeout, headers={"Host": self.hostname})
        self._token: tuple[str, float] | None = None
        self.pacer = pacer
        self.refused_by_limit = 0  # the ingress's refusals waited out
        self.limiter_pause_max = LIMITER_PAUSE_MAX

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send, retrying transport errors and transient answers with backoff (0.5 s doubling to 10 s) until
        `patience` runs out; then the last answer is returned (or the transport error raised). A limiter's
        refusal is retried without end."""
        give_up = time.monotonic() + self.patience
        refusals = 0  # by the limiter, in a row
        for attempt in count():
            if self.pacer:
                self.pacer.wait()
            try:
                response = self.http.request(method, path, extensions={"sni_hostname": self.hostname}, **kwargs)
            except httpx.TransportError as error:
                if time.monotonic() >= give_up:
                    raise
                problem = f"{type(error).__name__}: {error}"
            else:
                if limited(response):
                    refusals += 1
                    self._back_off(method, path, refusals)
                    give_up = time.monotonic() + self.patience  # the platform answered: patience starts anew
                    continue
                if response.status_code not in TRANSIENT or time.monotonic() >= give_up:
                    return response
                problem = f"HTTP {response.status_code}"
            pause = min(0.5 * 2 ** attempt, 10.0, max(give_up - time.monotonic(), 0.0))
            self.on_retry(f"{self.client_id} on {self.hostname}: {problem} for {method} {path.split('?')[0]}; "
                          f"retry {attempt + 1} in {pause:.1f} s (gives up {give_up - time.monotonic():.0f} s "
                          "from now)")
            time.sleep(pause)
        raise AssertionError("unreachable")

    def _back_off(self, method: str, path: str, in_a_row: int) -> None:
        """The ingress refused: wait longer the more often it refused in a row, and tell every tenth time."""
        self.refused_by_limit += 1
        pause = min(0.2 * in_a_row, self.limiter_pause_max)
        if self.refused_by_limit % 10 == 1:
            self.on_retry(f"{self.client_id} on {self.hostname}: the ingress's limit refused {method} "
                          f"{path.split('?')[0]} (503, {self.refused_by_limit} so far); waiting {pause:.1f} s")
        time.sleep(pause)

    def token(self) -> str:
        if self._token is None or time.monotonic() > self._token[1]:
            now = int(time.time())
            assertion = jwt.encode({"iss": self.client_id, "sub": self.client_id, "aud": self.token_url,
                                    "iat": now, "exp": now + 240, "jti": str(uuid.uuid4())},
                                   self._key, algorithm="RS512")  # a registered PEM key: RS512 only
            response = self._send("POST", f"/api/v1/{self.domain}/oauth2/token", data={
                "grant_type": "client_credentials", "client_assertion": assertion,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
            if response.status_code != 200:
                raise FhirError(f"token for {self.client_id} on {self.hostname}", response)
            body = response.json()
            self._token = (body["access_token"], time.monotonic() + max(int(body.get("expires_in", 300)) - 30, 5))
        return self._token[0]

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A FHIR call relative to the domain's base URL; a token that expired early is renewed once."""
        url = f"/api/v1/{self.domain}/fhir/r4" + (path if path.startswith("?") or not path else f"/{path}")
        for renewed in (False, True):
            headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/fhir+json",
                       **kwargs.get("headers", {})}
            response = self._send(method, url, **{**kwargs, "headers": headers})
            if response.status_code != 401 or renewed:
                return response
            self._token = None
        raise AssertionError("unreachable")

    def transaction(self, entries: list[dict[str, Any]]) -> httpx.Response:
        return self.call("POST", "", json={"resourceType": "Bundle", "type": "transaction", "entry": entries})

    def count(self, resource_type: str, **params: str) -> int:
        response = self.call("GET", resource_type, params={**params, "_summary": "count"})
        if response.status_code != 200:
            raise FhirError(f"count of {resource_type}", response)
        return int(response.json()["total"])

    def search_all(self, resource_type: str, page: int = 1000, **params: str) -> Iterator[dict[str, Any]]:
        """Every match, page by page (bounded memory), following the server's `next` links as FHIR says
        a client pages (how a server pages is its own: a keyset, HAPI's page ids)."""
        response = self.call("GET", resource_type, params={**params, "_count": str(page)})
        while True:
            if response.status_code != 200:
                raise FhirError(f"search {resource_type}", response)
            bundle = response.json()
            yield from (e["resource"] for e in bundle.get("entry", []))
            following = next((link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"), None)
            if following is None:
                return
            response = self.call("GET", self._relative(following))

    def _relative(self, url: str) -> str:
        """A link of the domain's FHIR base as a path below it (`Patient?...`) or a query on the base itself
        (`?_getpages=...`, HAPI's paging); a link anywhere else is refused."""
        base = f"https://{self.hostname}/api/v1/{self.domain}/fhir/r4"
        rest = url[len(base):] if url.startswith(base) else None
        if rest is None or (rest and rest[0] not in "/?"):
            raise FhirError(f"next link {url} is not under {base}", httpx.Response(502, text="foreign link"))
        return rest.lstrip("/")

    def close(self) -> None:
        self.http.close()
