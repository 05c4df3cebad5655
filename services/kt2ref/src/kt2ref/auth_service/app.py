"""KT 2.0 reference authentication service, one per environment for every domain: the SMART backend-services
token endpoint with JWKS, introspection and smart-configuration under /api/v1/<domain>/oauth2, and the domain
admin on /_contract (loopback only), which keeps the FHIR server's Devices in step."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
from psycopg.errors import UniqueViolation
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kt2ref import __version__, smart
from kt2ref.auth_service import registry
from kt2ref.auth_service.assertions import (
    JWKS_ALGORITHMS,
    PEM_ALGORITHMS,
    TokenError,
    client_of,
    pick_key,
    usable_jwks_keys,
    verify,
)
from kt2ref.auth_service.signing import SigningKeys
from kt2ref.auth_service.tokens import TOKEN_LIFETIME, access_claims, role_scopes
from kt2ref.common import (
    BadRequest,
    bad_request_handler,
    contract_result,
    database_lifespan,
    dry_run,
    json_body,
    load_config,
)

JWKS_CACHE_SECONDS = 300
ACTIONS = {"approve": "approved", "withdraw": "withdrawn"}
TRAFFIC = ("open", "migration", "closed")  # the domain's state on KT 2.0 (runbook P.8 migration, Q.10 open)
REMOVAL_TIMEOUT = 900  # seconds; the domain role's contract call waits as long (timeout 900)
# A freshly started FHIR server, its JVM still cold and three others starting beside it, has taken more than
# 10 s for a first domain's Devices; below the contract call's 120 s so the operator reads this message.
MIRROR_TIMEOUT = 100
# Just after the FHIR server started, a domain's first Devices can collide with HAPI's own processing of their
# subscription messages (HAPI-2223, a stale hfj_resource_modified row: a 500, in CI and in the lab). The
# change is idempotent; a second try after a pause goes through.
MIRROR_ATTEMPTS = 3
MIRROR_RETRY_PAUSE = 2.0


class AuthService:
    def __init__(self, config: dict[str, Any]) -> None:
        self.public_base_url = config["public_base_url"].rstrip("/")
        self.keys = SigningKeys(config["signing_keys"])
        self.fhir_contract = config["fhir_server_contract"].rstrip("/")
        self.http = httpx.AsyncClient(timeout=10)
        self.client_jwks: dict[str, tuple[float, jwt.PyJWKSet]] = {}

    def token_url(self, domain: str) -> str:
        return smart.oauth_base(self.public_base_url, domain) + "/token"

    # --- OAuth2 ----------------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        domain = request.path_params["domain"]
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            client_id = client_of(form)
            async with request.app.state.pool.connection() as conn, conn.transaction():
                state = await registry.load(conn, domain)
                if state is None:
                    raise TokenError("invalid_request", f"unknown domain {domain!r}", 404)
                app = state["applications"].get(client_id)
                if app is None:
                    raise TokenError("invalid_client", f"unknown client {client_id!r} in domain {domain}", 401)
                if app["status"] != "approved":
                    raise TokenError("unauthorized_client", f"client {client_id} is {app['status']} in domain "
                                     f"{domain}, not approved", 401)
                assertion = form["client_assertion"]
                if "public_key" in app:
                    claims = verify(assertion, client_id, app["public_key"], PEM_ALGORITHMS, self.token_url(domain))
                else:
                    key = pick_key(assertion, await self._client_keys(app["jwks_url"], assertion))
                    claims = verify(assertion, client_id, key, JWKS_ALGORITHMS, self.token_url(domain))
                # A closed domain serves its domain admin only; while it is migrated (runbook P.8 .. Q.10) its
                # applications publish their data too (the FHIR server limits them to that).
                if state["traffic"] == "closed" and not app["admin"]:
                    raise TokenError("temporarily_unavailable", f"domain {domain} is closed for traffic; only "
                                     "its domain admin gets tokens", 503)
                await conn.execute("DELETE FROM used_assertions WHERE expires < now()")
                await conn.execute("INSERT INTO used_assertions VALUES (%s, to_timestamp(%s))",
                                   (claims["jti"], claims["exp"]))
        except TokenError as error:
            return JSONResponse(error.body(), error.status, headers={"Cache-Control": "no-store"})
        except UniqueViolation:
            return JSONResponse({"error": "invalid_client",
                                 "error_description": "client_assertion was already used (jti)"}, 401)
        scope = " ".join(role_scopes(state["roles"][app["role"]], client_id))
        token = self.keys.sign(access_claims(smart.oauth_base(self.public_base_url, domain), domain, client_id, scope))
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME,
                             "scope": scope}, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def _client_keys(self, url: str, assertion: str) -> list[jwt.PyJWK]:
        """An application's registered JWKS, cached for five minutes and fetched again for an unknown kid."""
        kid = jwt.get_unverified_header(assertion).get("kid")
        cached = self.client_jwks.get(url)
        fresh = cached is not None and time.monotonic() - cached[0] < JWKS_CACHE_SECONDS
        if not fresh or (kid and kid not in {k.key_id for k in cached[1].keys}):
            try:
                cached = (time.monotonic(), await registry.fetch_jwks(self.http, url))
            except (httpx.HTTPError, ValueError, jwt.PyJWTError) as error:
                raise TokenError("invalid_client", f"the JWKS registered for this client does not answer: {error}",
                                 401) from error
            self.client_jwks[url] = cached
        return usable_jwks_keys(cached[1])

    async def introspect(self, request: Request) -> Response:
        """RFC 7662; the caller authenticates with an access token of the domain (its own will do)."""
        domain = request.path_params["domain"]
        header = request.headers.get("authorization", "")
        caller = await self._active(request, domain, header[7:] if header.lower().startswith("bearer ") else "")
        if caller is None:
            return JSONResponse({"error": "invalid_client", "error_description": "introspection needs a valid "
                                 f"access token of domain {domain} (Authorization: Bearer)"}, 401)
        claims = await self._active(request, domain, str((await request.form()).get("token", "")))
        return JSONResponse({"active": True, **claims} if claims else {"active": False})

    async def _active(self, request: Request, domain: str, token: str) -> dict[str, Any] | None:
        """The claims of a live token of this domain whose application is still approved."""
        try:
            claims = self.keys.verify(token, audience=smart.AUDIENCE,
                                      issuer=smart.oauth_base(self.public_base_url, domain))
        except jwt.PyJWTError:
            return None
        async with request.app.state.pool.connection() as conn:
            state = await registry.load(conn, domain)
        app = state and state["applications"].get(claims.get("azp"))
        return claims if app and app["status"] == "approved" else None

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(self.keys.jwks(), headers={"Cache-Control": "max-age=60"})

    async def smart_configuration(self, request: Request) -> Response:
        return JSONResponse(smart.configuration(self.public_base_url, request.path_params["domain"]))

    # --- contract: the domain admin ------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        async with request.app.state.pool.connection() as conn:
            await conn.execute("SELECT 1")
        return JSONResponse({"status": "ok", "service": "kt2-auth-service", "version": __version__,
                             "signing_keys": [k.kid for k in self.keys.keys]})

    async def evidence(self, request: Request) -> Response:
        """For `kt2 comply`: the published JWKS, a probe token signed as every access token is (no application
        has Device kt2ops-comply-probe, so it opens nothing), and the keys the applications are registered with."""
        probe = self.keys.sign(access_claims(smart.oauth_base(self.public_base_url, "kt2ops-comply"), "kt2ops-comply",
                                             "kt2ops-comply-probe", ""))
        async with request.app.state.pool.connection() as conn:
            cursor = await conn.execute("SELECT domain, client_id, status, public_key, jwks_url FROM applications "
                                        "ORDER BY domain, client_id")
            rows = await cursor.fetchall()
        return JSONResponse({"jwks": self.keys.jwks(), "probe": probe, "applications": [
            {"domain": r["domain"], "client_id": r["client_id"], "status": r["status"],
             **({"public_key_sha256": registry.public_key_sha256(r["public_key"])} if r["public_key"]
                else {"jwks_url": r["jwks_url"]})} for r in rows]})

    async def change(self, request: Request, edit: Callable[[dict[str, Any] | None], dict[str, Any]]) -> Response:
        """Every change of a domain's registrations: edit the current state, check the result whole, store it
        and mirror the approved applications to the FHIR server, in one transaction (a failed mirror
        stores nothing)."""
        domain = request.path_params["domain"]
        async with request.app.state.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("domain:" + domain,))
            current = await registry.load(conn, domain, lock=True)
            wanted = edit(current)
            wanted["applications"] = {cid: registry.normalise(cid, a) for cid, a in wanted["applications"].items()}
            await registry.check(wanted, self.http)
            changed = current is None or any(current[k] != wanted[k] for k in ("name", "roles", "applications"))
            mirrored = await self._mirror(domain, "PUT", registry.devices(wanted), dry_run(request))
            if changed and not dry_run(request):
                await registry.store(conn, domain, wanted)
            if not (changed or mirrored["changed"]):
                return contract_result(False)
            return contract_result(True, registry.summary(current), registry.summary(wanted))

    async def _mirror(self, domain: str, method: str, body: Any = None, check: bool = False) -> dict[str, Any]:
        """The same change on the FHIR server's contract (Devices, traffic, removal)."""
        url = f"{self.fhir_contract}/domains/{domain}" + ("?dry_run=true" if check else "")
        # Removing a domain deletes and expunges all its resources: minutes for a migrated production domain.
        timeout = REMOVAL_TIMEOUT if method == "DELETE" else MIRROR_TIMEOUT
        for attempt in range(MIRROR_ATTEMPTS):
            try:
                response = await self.http.request(method, url, json=body, timeout=timeout)
            except httpx.TimeoutException:
                raise BadRequest(f"the FHIR server did not answer the change of domain {domain} within {timeout} s",
                                 504) from None
            if response.status_code < 500 or attempt + 1 == MIRROR_ATTEMPTS:
                break
            await asyncio.sleep(MIRROR_RETRY_PAUSE)
        if response.status_code >= 400:
            raise BadRequest(f"the FHIR server refused the change of domain {domain}: {response.text}", 502)
        return response.json()

    async def put_domain(self, request: Request) -> Response:
        """The whole domain, as the domain role declares it from the domain file."""
        wanted = await json_body(request)
        if not isinstance(wanted, dict) or not isinstance(wanted.get("roles"), dict) \
                or not isinstance(wanted.get("applications"), dict) or not wanted.get("name"):
            raise BadRequest("body must be {name, roles: {id: {permissions}}, applications: {client id: {...}}}")
        return await self.change(request, lambda current: {k: wanted[k] for k in ("name", "roles", "applications")})

    async def register(self, request: Request) -> Response:
        entry = await json_body(request)
        client_id = entry.pop("client_id", None) if isinstance(entry, dict) else None
        if not client_id:
            raise BadRequest("body must be an application with its client_id")

        def add(current: dict[str, Any] | None) -> dict[str, Any]:
            state = _existing(current, request)
            if client_id in state["applications"]:
                raise BadRequest(f"client id {client_id} is already registered in domain "
                                 f"{request.path_params['domain']}", 409, "duplicate")
            return {**state, "applications": {**state["applications"], client_id: {"status": "pending", **entry}}}

        return await self.change(request, add)

    async def update_application(self, request: Request) -> Response:
        """PUT: new role, key or names; .../approve and .../withdraw: the status."""
        client_id, action = request.path_params["client_id"], request.path_params.get("action")
        if action is not None and action not in ACTIONS:
            raise BadRequest(f"unknown operation {action!r}; use {' or '.join(ACTIONS)}", 404, "not-found")
        update = {"status": ACTIONS[action]} if action else await json_body(request)
        if not isinstance(update, dict):
            raise BadRequest("body must be the application's changed fields")

        def edit(current: dict[str, Any] | None) -> dict[str, Any]:
            state = _existing(current, request)
            old = state["applications"].get(client_id)
            if old is None:
                raise BadRequest(f"client id {client_id} is not registered in domain "
                                 f"{request.path_params['domain']}", 404, "not-found")
            if "public_key" in update or "jwks_url" in update:  # a new key replaces the old, whichever kind
                old = {k: v for k, v in old.items() if k not in ("public_key", "jwks_url")}
            return {**state, "applications": {**state["applications"], client_id: {**old, **update}}}

        return await self.change(request, edit)

    async def list_applications(self, request: Request) -> Response:
        async with request.app.state.pool.connection() as conn:
            state = _existing(await registry.load(conn, request.path_params["domain"]), request)
        return JSONResponse(registry.summary(state))

    async def delete_domain(self, request: Request) -> Response:
        domain = request.path_params["domain"]
        async with request.app.state.pool.connection() as conn, conn.transaction():
            current = await registry.load(conn, domain, lock=True)
            if current is None:
                return contract_result(False)
            removed = await self._mirror(domain, "DELETE", check=dry_run(request))
            if not dry_run(request):
                await conn.execute("DELETE FROM domains WHERE id = %s", (domain,))
            return contract_result(True, {"domain": domain, **removed.get("diff", {}).get("before", {})}, None)

    async def traffic(self, request: Request) -> Response:
        """open, migration or closed: tokens here, requests at the FHIR server (which takes the same switch)."""
        domain = request.path_params["domain"]
        async with request.app.state.pool.connection() as conn, conn.transaction():
            current = _existing(await registry.load(conn, domain, lock=True), request)
            if request.method == "GET":
                return JSONResponse({"traffic": current["traffic"]})
            wanted = await json_body(request)
            if not isinstance(wanted, dict) or wanted.get("traffic") not in TRAFFIC:
                raise BadRequest('body must be {"traffic": "open"|"migration"|"closed"}')
            response = await self.http.put(f"{self.fhir_contract}/domains/{domain}/traffic"
                                           + ("?dry_run=true" if dry_run(request) else ""), json=wanted)
            if response.status_code >= 400:
                raise BadRequest(f"the FHIR server refused the traffic switch: {response.text}", 502)
            if wanted["traffic"] == current["traffic"] and not response.json()["changed"]:
                return contract_result(False, traffic=wanted["traffic"])
            if not dry_run(request):
                await conn.execute("UPDATE domains SET traffic = %s WHERE id = %s", (wanted["traffic"], domain))
            return contract_result(True, {"traffic": current["traffic"]}, wanted, traffic=wanted["traffic"])


def _existing(state: dict[str, Any] | None, request: Request) -> dict[str, Any]:
    if state is None:
        raise BadRequest(f"unknown domain {request.path_params['domain']!r}", 404, "not-found")
    return state


def create_app() -> Starlette:
    config = load_config()
    service = AuthService(config)
    oauth = "/api/v1/{domain}/oauth2"
    apps = "/_contract/domains/{domain}/applications"
    routes = [
        Route("/_contract/health", service.health),
        Route("/_contract/evidence", service.evidence),
        Route("/_contract/domains/{domain}", service.put_domain, methods=["PUT"]),
        Route("/_contract/domains/{domain}", service.delete_domain, methods=["DELETE"]),
        Route("/_contract/domains/{domain}/traffic", service.traffic, methods=["GET", "PUT"]),
        Route(apps, service.list_applications, methods=["GET"]),
        Route(apps, service.register, methods=["POST"]),
        Route(apps + "/{client_id}", service.update_application, methods=["PUT"]),
        Route(apps + "/{client_id}/{action}", service.update_application, methods=["POST"]),
        Route(oauth + "/token", service.token, methods=["POST"]),
        Route(oauth + "/introspect", service.introspect, methods=["POST"]),
        Route(oauth + "/.well-known/jwks.json", service.jwks),
        Route("/oauth2/.well-known/jwks.json", service.jwks),  # the whole environment's, for the FHIR server
        Route(oauth + "/.well-known/smart-configuration", service.smart_configuration),
    ]
    lifespan = database_lifespan(config, "kt2ref.auth_service")

    @asynccontextmanager
    async def with_http(app: Starlette) -> AsyncIterator[None]:
        async with lifespan(app), service.http:
            yield

    return Starlette(routes=routes, lifespan=with_http, exception_handlers={BadRequest: bad_request_handler})
