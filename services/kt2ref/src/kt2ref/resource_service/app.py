"""KT 2.0 reference resource service: FHIR R4 REST per domain for the tokens of the authentication service,
and the contract (health, domains, traffic, counts and hash totals) on /_contract, which nginx does not expose."""

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from psycopg import AsyncConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kt2ref import __version__, smart
from kt2ref.common import (
    FHIR_JSON,
    BadRequest,
    bad_request_handler,
    canonical_hash,
    contract_result,
    database_lifespan,
    dry_run,
    json_body,
    load_config,
)
from kt2ref.resource_service import domains, fhir, store
from kt2ref.resource_service.auth import Grant, TokenVerifier
from kt2ref.resource_service.statistics import FreshStatistics

MAX_PAGE = 1000


def fhir_response(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def version_headers(base: str, resource: dict[str, Any]) -> dict[str, str]:
    version = resource["meta"]["versionId"]
    return {"ETag": f'W/"{version}"',
            "Location": f"{base}/{resource['resourceType']}/{resource['id']}/_history/{version}"}


class ResourceService:
    def __init__(self, config: dict[str, Any]) -> None:
        self.public_base_url = config["public_base_url"].rstrip("/")
        self.verifier = TokenVerifier(config["jwks_endpoint"], self.public_base_url)
        self.statistics = FreshStatistics()

    def base(self, domain: str) -> str:
        return f"{self.public_base_url}/api/v1/{domain}/fhir/r4"

    # --- FHIR API -----------------------------------------------------------------------------------

    async def fhir(self, request: Request,
                   handler: Callable[[AsyncConnection, Grant, str], Awaitable[Response]]) -> Response:
        """Common frame of every FHIR call: the domain's own transaction, a valid token of an application whose
        Device is there (a withdrawn application's tokens stop at once), open traffic."""
        domain = request.path_params["domain"]
        grant = await self.verifier.grant(request.headers.get("authorization"), domain)
        async with store.tenant(request.app.state.pool, domain) as conn:
            row = await domains.current(conn, domain)
            if row is None:
                raise BadRequest(f"unknown domain {domain!r}", 404, "not-found")
            device = await store.fetch(conn, "Device", grant.client_id)
            if device is None or device["deleted"]:
                raise BadRequest(f"{grant.device} is not an application of domain {domain} (withdrawn or never "
                                 "approved)", 401, "login")
            application = row["config"]["applications"].get(grant.client_id, {})
            grant = replace(grant, migration=bool(application.get("migration")))
            # A closed domain (being migrated, not yet opened: runbook P.8 .. Q.10) serves the migration only.
            if not row["traffic_open"] and not grant.migration:
                raise BadRequest(f"domain {domain} is closed for traffic", 503, "transient")
            response = await handler(conn, grant, domain)
        self.statistics.committed(request.app.state.pool)
        return response

    async def create(self, request: Request) -> Response:
        resource_type = request.path_params["type"]
        fhir.check_type(resource_type)
        body = await json_body(request)
        fhir.validate(body, resource_type)

        async def handler(conn: AsyncConnection, grant: Grant, domain: str) -> Response:
            grant.reach(resource_type, "c")
            if condition := request.headers.get("if-none-exist"):
                existing = await self._existing(conn, resource_type, condition)
                if existing is not None:
                    return fhir_response(existing, 200, version_headers(self.base(domain), existing))
            created = await self._insert(conn, domain, grant, body)
            return fhir_response(created, 201, version_headers(self.base(domain), created))

        return await self.fhir(request, handler)

    async def read(self, request: Request) -> Response:
        resource_type, resource_id = request.path_params["type"], request.path_params["id"]
        fhir.check_type(resource_type)

        async def handler(conn: AsyncConnection, grant: Grant, domain: str) -> Response:
            row = await self._visible(conn, grant, resource_type, resource_id, "r")
            return fhir_response(row["body"], 200, version_headers(self.base(domain), row["body"]))

        return await self.fhir(request, handler)

    async def update(self, request: Request) -> Response:
        resource_type, resource_id = request.path_params["type"], request.path_params["id"]
        fhir.check_type(resource_type)
        if_match = request.headers.get("if-match")
        if not if_match:
            raise BadRequest("If-Match is required on update (the version you read, e.g. W/\"1\")", 428,
                             "business-rule")
        body = await json_body(request)
        fhir.validate(body, resource_type)
        if body.get("id") != resource_id:
            raise BadRequest(f"the resource's id {body.get('id')!r} does not match the URL's {resource_id!r}")

        async def handler(conn: AsyncConnection, grant: Grant, domain: str) -> Response:
            updated = await self._update(conn, grant, body, if_match)
            return fhir_response(updated, 200, version_headers(self.base(domain), updated))

        return await self.fhir(request, handler)

    async def delete(self, request: Request) -> Response:
        resource_type, resource_id = request.path_params["type"], request.path_params["id"]
        fhir.check_type(resource_type)

        async def handler(conn: AsyncConnection, grant: Grant, domain: str) -> Response:
            await self._visible(conn, grant, resource_type, resource_id, "d")
            await store.mark_deleted(conn, resource_type, resource_id)
            return Response(status_code=204)

        return await self.fhir(request, handler)

    async def search(self, request: Request) -> Response:
        resource_type = request.path_params["type"]
        fhir.check_type(resource_type)
        params = [(k, v) for k, v in request.query_params.multi_items()]
        options = dict(params)
        summary = options.get("_summary")
        if summary not in (None, "count"):
            raise BadRequest("_summary: only 'count' is supported")
        try:
            limit = max(1, min(int(options.get("_count", 50)), MAX_PAGE))
        except ValueError as error:
            raise BadRequest("_count must be a whole number") from error
        after = fhir.read_cursor(options["_cursor"]) if "_cursor" in options else None
        conditions, args = fhir.search_conditions([(k, v) for k, v in params
                                                   if k not in ("_summary", "_count", "_cursor")])

        async def handler(conn: AsyncConnection, grant: Grant, domain: str) -> Response:
            reach = grant.reach(resource_type, "s")
            own_conditions, own_args = conditions, args
            if reach is not None:
                own_conditions, own_args = [*conditions, "origin = ANY(%s)"], [*args, list(reach)]
            bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
            if summary == "count" or after is None:  # the total once, on the first page: counting costs a scan
                bundle["total"] = await store.count(conn, resource_type, own_conditions, own_args)
            if summary != "count":
                base = f"{self.base(domain)}/{resource_type}"
                found, following = await store.page(conn, resource_type, own_conditions, own_args, limit, after)
                bundle["link"] = [{"relation": "self", "url": f"{base}?{urlencode(params)}"}]
                if following is not None:
                    query = urlencode([*((k, v) for k, v in params if k != "_cursor"),
                                       ("_cursor", fhir.write_cursor(following))])
                    bundle["link"].append({"relation": "next", "url": f"{base}?{query}"})
                bundle["entry"] = [{"fullUrl": f"{base}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                                   for r in found]
            return fhir_response(bundle)

        return await self.fhir(request, handler)

    async def transaction(self, request: Request) -> Response:
        bundle = await json_body(request)
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle" \
                or bundle.get("type") != "transaction":
            raise BadRequest("POST to the base URL takes a Bundle of type transaction")
        entries = bundle.get("entry", [])

        async def handler(conn: AsyncConnection, grant: Grant, domain: str) -> Response:
            # Ids first, so that entries may reference each other in any order (urn:uuid fullUrls).
            mapping: dict[str, str] = {}
            plan = []
            for index, entry in enumerate(entries):
                where = f"Bundle.entry[{index}]"
                req = entry.get("request") or {}
                method, url = req.get("method"), req.get("url", "")
                resource = entry.get("resource")
                if method == "POST":
                    fhir.check_type(url)
                    existing = (await self._existing(conn, url, req["ifNoneExist"])
                                if req.get("ifNoneExist") else None)
                    new_id = existing["id"] if existing else store.new_id()
                    if entry.get("fullUrl"):
                        mapping[entry["fullUrl"]] = f"{url}/{new_id}"
                    plan.append((where, method, url, resource, new_id, existing, req))
                elif method in ("PUT", "DELETE"):
                    plan.append((where, method, url, resource, None, None, req))
                else:
                    raise BadRequest(f"{where}.request.method must be POST, PUT or DELETE")
            results = []
            for where, method, url, resource, new_id, existing, req in plan:
                if method == "POST":
                    resource = fhir.resolve_references(resource, mapping)
                    fhir.validate(resource, url, where)
                    grant.reach(url, "c")
                    stored = existing or await self._insert(conn, domain, grant, resource, new_id)
                    status = "200 OK" if existing else "201 Created"
                elif method == "PUT":
                    resource = fhir.resolve_references(resource, mapping)
                    fhir.validate(resource, url.split("/")[0], where)
                    if not req.get("ifMatch"):
                        raise BadRequest(f"{where}.request.ifMatch is required on update", 428, "business-rule")
                    stored = await self._update(conn, grant, resource, req["ifMatch"])
                    status = "200 OK"
                else:
                    resource_type, _, resource_id = url.partition("/")
                    await self._visible(conn, grant, resource_type, resource_id, "d")
                    await store.mark_deleted(conn, resource_type, resource_id)
                    results.append({"response": {"status": "204 No Content"}})
                    continue
                results.append({"response": {"status": status, "etag": f'W/"{stored["meta"]["versionId"]}"',
                                             "location": f"{stored['resourceType']}/{stored['id']}"}})
            return fhir_response({"resourceType": "Bundle", "type": "transaction-response", "entry": results})

        return await self.fhir(request, handler)

    async def _existing(self, conn: AsyncConnection, resource_type: str, condition: str) -> dict | None:
        conditions, args = fhir.search_conditions(parse_qsl(condition))
        return await store.find_one(conn, resource_type, conditions, args)

    async def _insert(self, conn: AsyncConnection, domain: str, grant: Grant, body: dict[str, Any],
                      resource_id: str | None = None) -> dict[str, Any]:
        origin = grant.device
        requested = fhir.origin_of(body)
        if grant.migration and requested:
            # The migration publishes on behalf of the application that sent the data to KT 1.3, so that
            # application keeps reaching its own resources; it must be a Device of this domain.
            device = await store.fetch(conn, "Device", requested.removeprefix("Device/"))
            if not requested.startswith("Device/") or device is None or device["deleted"]:
                raise BadRequest(f"resource-origin {requested} is not a Device of domain {domain}", 422, "invalid")
            origin = requested
        resource = fhir.with_origin({k: v for k, v in body.items() if k not in ("id", "meta")}, origin)
        self.statistics.written += 1
        return await store.insert(conn, domain, resource, origin, resource_id)

    async def _visible(self, conn: AsyncConnection, grant: Grant, resource_type: str, resource_id: str,
                       letter: str, lock: bool = False) -> dict[str, Any]:
        reach = grant.reach(resource_type, letter)
        row = await store.fetch(conn, resource_type, resource_id, lock)
        if row is None:
            raise BadRequest(f"{resource_type}/{resource_id} does not exist", 404, "not-found")
        if row["deleted"]:
            raise BadRequest(f"{resource_type}/{resource_id} was deleted", 410, "deleted")
        if reach is not None and row["origin"] not in reach:
            raise BadRequest(f"{resource_type}/{resource_id} was not created by {grant.client_id}; its role only "
                             f"reaches its own {resource_type} resources", 403, "forbidden")
        return row

    async def _update(self, conn: AsyncConnection, grant: Grant, body: dict[str, Any], if_match: str) -> dict:
        row = await self._visible(conn, grant, body["resourceType"], body["id"], "u", lock=True)
        expected = if_match.removeprefix("W/").strip('"')
        if expected != str(row["version"]):
            raise BadRequest(f"version conflict: If-Match {if_match} but the current version is "
                             f"{row['version']}", 412, "conflict")
        return await store.replace(conn, row, fhir.with_origin({k: v for k, v in body.items() if k != "meta"},
                                                                row["origin"]))

    # --- SMART ---------------------------------------------------------------------------------------

    async def capability_statement(self, request: Request) -> Response:
        """GET [base]/metadata, without a token: what the server supports, and where to get a token (the SMART
        oauth-uris extension, where KT's own clients look it up)."""
        domain = request.path_params["domain"]
        oauth = {"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                 "extension": [{"url": "token", "valueUri": smart.oauth_base(self.public_base_url, domain) + "/token"}]}
        interactions = [{"code": c} for c in ("read", "update", "delete", "create", "search-type")]
        search = [{"name": n, "type": t} for n, t in (("_id", "token"), ("_lastUpdated", "date"),
                                                      ("identifier", "token"), ("resource-origin", "reference"))]
        return JSONResponse({
            "resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
            "date": datetime.now(UTC).date().isoformat(),
            "fhirVersion": "4.0.1", "format": ["application/fhir+json", "json"],
            "software": {"name": "kt2ref resource service", "version": __version__},
            "implementation": {"description": f"Koppeltaal 2.0 domain {domain}",
                               "url": f"{self.public_base_url}/api/v1/{domain}/fhir/r4"},
            "rest": [{"mode": "server", "security": {"extension": [oauth], "service": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                "code": "SMART-on-FHIR"}]}]},
                "resource": [{"type": t, "interaction": interactions, "searchParam": search}
                             for t in sorted(fhir.RESOURCE_TYPES)],
                "interaction": [{"code": "transaction"}]}],
        }, media_type=FHIR_JSON)

    async def smart_configuration(self, request: Request) -> Response:
        return JSONResponse(smart.configuration(self.public_base_url, request.path_params["domain"]))

    # --- contract ------------------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        async with request.app.state.pool.connection() as conn:
            await conn.execute("SELECT 1")
        return JSONResponse({"status": "ok", "service": "kt2-resource-service", "version": __version__})

    async def list_domains(self, request: Request) -> Response:
        async with request.app.state.pool.connection() as conn:
            cursor = await conn.execute("SELECT id, traffic_open FROM domains ORDER BY id")
            rows = await cursor.fetchall()
        return JSONResponse({"domains": rows})

    async def put_domain(self, request: Request) -> Response:
        domain = request.path_params["domain"]
        wanted = await json_body(request)
        async with store.tenant(request.app.state.pool, domain) as conn:
            row = await domains.current(conn, domain)
            if row is not None and row["config_hash"] == canonical_hash(wanted):
                return contract_result(False)
            before = domains.summary(row["config"] if row else None)
            if not dry_run(request):
                await domains.apply(conn, domain, wanted)
            return contract_result(True, before, domains.summary(wanted))

    async def delete_domain(self, request: Request) -> Response:
        domain = request.path_params["domain"]
        async with store.tenant(request.app.state.pool, domain) as conn:
            row = await domains.current(conn, domain)
            if row is None:
                return contract_result(False)
            totals = await store.totals(conn)
            if not dry_run(request):
                await conn.execute("DELETE FROM resources WHERE domain = %s", (domain,))
                await conn.execute("DELETE FROM domains WHERE id = %s", (domain,))
            return contract_result(True, {"domain": domain, "counts": totals["counts"]}, None)

    async def traffic(self, request: Request) -> Response:
        domain = request.path_params["domain"]
        async with store.tenant(request.app.state.pool, domain) as conn:
            row = await domains.current(conn, domain)
            if row is None:
                raise BadRequest(f"unknown domain {domain!r}", 404, "not-found")
            if request.method == "GET":
                return JSONResponse({"open": row["traffic_open"]})
            wanted = await json_body(request)
            if not isinstance(wanted, dict) or not isinstance(wanted.get("open"), bool):
                raise BadRequest('body must be {"open": true|false}')
            if wanted["open"] == row["traffic_open"]:
                return contract_result(False, open=wanted["open"])
            if not dry_run(request):
                await conn.execute("UPDATE domains SET traffic_open = %s WHERE id = %s", (wanted["open"], domain))
            return contract_result(True, {"open": row["traffic_open"]}, wanted, open=wanted["open"])

    async def totals(self, request: Request) -> Response:
        domain = request.path_params["domain"]
        async with store.tenant(request.app.state.pool, domain) as conn:
            if await domains.current(conn, domain) is None:
                raise BadRequest(f"unknown domain {domain!r}", 404, "not-found")
            return JSONResponse({"domain": domain, **await store.totals(conn)})


def create_app() -> Starlette:
    config = load_config()
    service = ResourceService(config)
    api = "/api/v1/{domain}"
    fhir_base = api + "/fhir/r4"
    routes = [
        Route("/_contract/health", service.health),
        Route("/_contract/domains", service.list_domains),
        Route("/_contract/domains/{domain}", service.put_domain, methods=["PUT"]),
        Route("/_contract/domains/{domain}", service.delete_domain, methods=["DELETE"]),
        Route("/_contract/domains/{domain}/traffic", service.traffic, methods=["GET", "PUT"]),
        Route("/_contract/domains/{domain}/totals", service.totals),
        Route(fhir_base + "/.well-known/smart-configuration", service.smart_configuration),
        Route(fhir_base + "/metadata", service.capability_statement),
        Route(fhir_base, service.transaction, methods=["POST"]),
        Route(fhir_base + "/{type}", service.search, methods=["GET"]),
        Route(fhir_base + "/{type}", service.create, methods=["POST"]),
        Route(fhir_base + "/{type}/{id}", service.read, methods=["GET"]),
        Route(fhir_base + "/{type}/{id}", service.update, methods=["PUT"]),
        Route(fhir_base + "/{type}/{id}", service.delete, methods=["DELETE"]),
    ]
    return Starlette(routes=routes, lifespan=database_lifespan(config, "kt2ref.resource_service"),
                     exception_handlers={BadRequest: bad_request_handler})
