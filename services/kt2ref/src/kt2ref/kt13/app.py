"""KT 1.3 reference server: per-domain mailboxes with GetNextNewAndClaim, processing statuses and claim
timeout, each application authenticated by its own credential (HTTP basic), a conformance statement; the
contract (/_contract, loopback only) has domains, traffic control, freeze, depth, export and the
synthetic-data generator."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from kt2ref import __version__
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
from kt2ref.kt13 import generator
from kt2ref.kt13.credentials import application
from kt2ref.kt13.messages import EVENT_SYSTEM, EVENTS, MAX_RETRIES, STATUSES, focus_of, header_of, patient_of

SENDER_HEADER = "x-koppeltaal-application"


class Kt13Server:
    def __init__(self, config: dict[str, Any]) -> None:
        self.claim_timeout = int(config.get("claim_timeout_seconds", 300))

    async def _domain(self, conn: AsyncConnection, domain: str, lock: bool = False) -> dict[str, Any]:
        cursor = await conn.execute("SELECT * FROM domains WHERE id = %s" + (" FOR UPDATE" if lock else ""),
                                    (domain,))
        row = await cursor.fetchone()
        if row is None:
            raise BadRequest(f"unknown domain {domain!r}", 404, "not-found")
        return row

    def _sender(self, request: Request, domain: dict[str, Any]) -> str:
        """The authenticated application; one that names another (the header) is refused: an application
        sends only as itself and reads only its own mailbox."""
        sender = application(request, domain)
        named = request.headers.get(SENDER_HEADER)
        if named is not None and named != sender:
            raise BadRequest(f"{SENDER_HEADER}: {named!r} is not the authenticated application {sender!r}: an "
                             "application sends and reads only as itself", 403, "forbidden")
        return sender

    # --- messaging interface -------------------------------------------------------------------------

    async def conformance(self, request: Request) -> Response:
        """The domain's conformance statement (FHIR DSTU2, as KT 1.3 speaks it); no credential needed."""
        async with request.app.state.pool.connection() as conn:
            domain = await self._domain(conn, request.path_params["domain"])
        return JSONResponse({
            "resourceType": "Conformance", "status": "active", "date": datetime.now(UTC).date().isoformat(),
            "publisher": "kt2ops lab", "kind": "instance", "fhirVersion": "1.0.2", "acceptUnknown": "extensions",
            "format": ["application/json+fhir"],
            "software": {"name": "kt2ref KT 1.3 server", "version": __version__},
            "implementation": {"description": f"Koppeltaal 1.3 domain {domain['id']}", "url": str(request.url)
                               .removesuffix("/metadata")},
            "rest": [{"mode": "server", "security": {"service": [{"coding": [
                {"system": "http://hl7.org/fhir/restful-security-service", "code": "Basic"}]}],
                "description": "Each application authenticates with its own credential (HTTP basic)."},
                "resource": [{"type": "MessageHeader", "interaction": [{"code": "search-type"}, {"code": "update"}],
                              "searchParam": [{"name": "_query", "type": "token"}, {"name": "_count", "type": "number"},
                                              {"name": "event", "type": "token"},
                                              {"name": "patient", "type": "reference"}]}],
                "operation": [{"name": "Mailbox", "definition": {"reference": "OperationDefinition/Mailbox"}}]}],
            "messaging": [{"event": [{"code": {"system": EVENT_SYSTEM, "code": event},
                                      "mode": "receiver", "focus": "Bundle", "request": {"reference": "Bundle"},
                                      "response": {"reference": "OperationOutcome"}} for event in sorted(EVENTS)]}],
        }, media_type=FHIR_JSON)

    async def post_message(self, request: Request) -> Response:
        bundle = await json_body(request)
        async with request.app.state.pool.connection() as conn, conn.transaction():
            domain = await self._domain(conn, request.path_params["domain"])
            sender = self._sender(request, domain)  # a stranger learns nothing about the message's checks
            header = header_of(bundle)
            if not domain["inbound_open"]:
                raise BadRequest(f"inbound traffic for domain {domain['id']} is stopped (traffic control); "
                                 "the message was not accepted", 503, "transient")
            focus = focus_of(header)
            await conn.execute("UPDATE messages SET status = 'ReplacedByNewVersion' "
                               "WHERE domain = %s AND focus = %s AND status = 'New'", (domain["id"], focus))
            await conn.execute(
                "INSERT INTO messages (domain, id, event, sender, patient, focus, received, bundle) "
                "VALUES (%s, %s, %s, %s, %s, %s, now(), %s)",
                (domain["id"], header["id"], header["event"]["code"], sender, patient_of(header), focus,
                 Jsonb(bundle)))
        return JSONResponse({"resourceType": "OperationOutcome", "issue": [
            {"severity": "information", "code": "informational", "diagnostics": f"accepted {header['id']}"}]},
            status_code=201, media_type=FHIR_JSON)

    async def claim(self, request: Request) -> Response:
        params = request.query_params
        if params.get("_query") != "MessageHeader.GetNextNewAndClaim":
            raise BadRequest("_query must be MessageHeader.GetNextNewAndClaim")
        try:
            count = min(max(int(params.get("_count", 1)), 1), 1000)
        except ValueError as error:
            raise BadRequest("_count must be a whole number (1-1000)") from error
        async with request.app.state.pool.connection() as conn, conn.transaction():
            domain = await self._domain(conn, request.path_params["domain"])
            reader = self._sender(request, domain)
            if not domain["processing_on"]:
                raise BadRequest(f"processing for domain {domain['id']} is stopped (traffic control)", 503,
                                 "transient")
            await self._expire_claims(conn, domain["id"])
            conditions, args = ["domain = %s", "status = 'New'", "sender <> %s"], [domain["id"], reader]
            for param, column in (("event", "event"), ("patient", "patient")):
                if params.get(param):
                    conditions.append(f"{column} = %s")
                    args.append(params[param])
            cursor = await conn.execute(
                f"UPDATE messages SET status = 'Claimed', claimed_by = %s, "
                f"claimed_until = now() + make_interval(secs => %s) WHERE seq IN (SELECT seq FROM messages "
                f"WHERE {' AND '.join(conditions)} ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED) "
                "RETURNING seq, bundle", (reader, self.claim_timeout, *args, count))
            rows = sorted(await cursor.fetchall(), key=lambda r: r["seq"])
        return JSONResponse({"resourceType": "Bundle", "type": "searchset", "total": len(rows),
                             "entry": [{"resource": r["bundle"]} for r in rows]}, media_type=FHIR_JSON)

    async def _expire_claims(self, conn: AsyncConnection, domain: str) -> None:
        """A claim that was not settled in time goes back to New, so another reader may take it."""
        await conn.execute("UPDATE messages SET status = 'New', claimed_by = NULL, claimed_until = NULL "
                           "WHERE domain = %s AND status = 'Claimed' AND claimed_until < now()", (domain,))

    async def settle(self, request: Request) -> Response:
        """The reader reports the outcome of a claimed message: Success, or Failed (retried up to 5 times)."""
        body = await json_body(request)
        status = body.get("status") if isinstance(body, dict) else None
        if status not in ("Success", "Failed"):
            raise BadRequest('body must be {"status": "Success"|"Failed"}')
        try:
            message_id = uuid.UUID(request.path_params["id"])
        except ValueError as error:
            raise BadRequest("MessageHeader id must be a UUID") from error
        async with request.app.state.pool.connection() as conn, conn.transaction():
            domain = await self._domain(conn, request.path_params["domain"])
            reader = self._sender(request, domain)
            await self._expire_claims(conn, domain["id"])
            cursor = await conn.execute("SELECT status, claimed_by, retries FROM messages "
                                        "WHERE domain = %s AND id = %s FOR UPDATE", (domain["id"], message_id))
            row = await cursor.fetchone()
            if row is None:
                raise BadRequest(f"MessageHeader/{message_id} does not exist in {domain['id']}", 404, "not-found")
            if row["status"] != "Claimed" or row["claimed_by"] != reader:
                raise BadRequest(f"MessageHeader/{message_id} is {row['status']}, not claimed by {reader}", 409,
                                 "conflict")
            retries = row["retries"] + (status == "Failed")
            new = status if status == "Success" else ("MaximumRetriesExceeded" if retries >= MAX_RETRIES else "New")
            await conn.execute("UPDATE messages SET status = %s, retries = %s, claimed_by = NULL, "
                               "claimed_until = NULL WHERE domain = %s AND id = %s",
                               (new, retries, domain["id"], message_id))
        return JSONResponse({"id": str(message_id), "status": new, "retries": retries})

    # --- contract ------------------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        async with request.app.state.pool.connection() as conn:
            await conn.execute("SELECT 1")
        return JSONResponse({"status": "ok", "service": "kt13-server", "version": __version__})

    async def put_domain(self, request: Request) -> Response:
        name = request.path_params["domain"]
        wanted = await json_body(request)
        async with request.app.state.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute("SELECT * FROM domains WHERE id = %s FOR UPDATE", (name,))
            row = await cursor.fetchone()
            if row is not None and row["config_hash"] == canonical_hash(wanted):
                return contract_result(False)
            if row is not None and row["frozen"]:
                raise BadRequest(f"domain {name} is frozen (runbook L.1): its configuration cannot change", 409,
                                 "conflict")
            if not dry_run(request):
                await conn.execute(
                    "INSERT INTO domains (id, config, config_hash) VALUES (%s, %s, %s) ON CONFLICT (id) "
                    "DO UPDATE SET config = EXCLUDED.config, config_hash = EXCLUDED.config_hash",
                    (name, Jsonb(wanted), canonical_hash(wanted)))
            return contract_result(True, row["config"] if row else None, wanted)

    async def delete_domain(self, request: Request) -> Response:
        name = request.path_params["domain"]
        async with request.app.state.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute("SELECT frozen FROM domains WHERE id = %s FOR UPDATE", (name,))
            row = await cursor.fetchone()
            if row is None:
                return contract_result(False)
            if row["frozen"]:
                raise BadRequest(f"domain {name} is frozen (runbook L.1): unfreeze before removing it", 409,
                                 "conflict")
            depth = await self._depth(conn, name)
            if not dry_run(request):
                await conn.execute("DELETE FROM domains WHERE id = %s", (name,))
            return contract_result(True, {"domain": name, "messages": depth}, None)

    async def flags(self, request: Request) -> Response:
        """Traffic control (inbound, processing) and the freeze flag: GET shows them, PUT sets some."""
        kind = request.url.path.rsplit("/", 1)[1]
        names = {"traffic": ("inbound_open", "processing_on"), "freeze": ("frozen",)}[kind]
        async with request.app.state.pool.connection() as conn, conn.transaction():
            row = await self._domain(conn, request.path_params["domain"], lock=True)
            now = {n: row[n] for n in names}
            if request.method == "GET":
                return JSONResponse(now)
            wanted = await json_body(request)
            if not isinstance(wanted, dict) or not wanted or any(
                    k not in names or not isinstance(v, bool) for k, v in wanted.items()):
                raise BadRequest(f"body must set one or more of {', '.join(names)} to true or false")
            after = {**now, **wanted}
            if after == now:
                return contract_result(False, **after)
            if not dry_run(request):
                assignments = ", ".join(f"{k} = %s" for k in wanted)
                await conn.execute(f"UPDATE domains SET {assignments} WHERE id = %s",
                                   (*wanted.values(), row["id"]))
            return contract_result(True, now, after, **after)

    async def _depth(self, conn: AsyncConnection, domain: str) -> dict[str, int]:
        await self._expire_claims(conn, domain)
        cursor = await conn.execute("SELECT status, count(*) AS n FROM messages WHERE domain = %s GROUP BY status",
                                    (domain,))
        found = {row["status"]: row["n"] for row in await cursor.fetchall()}
        return {status: found.get(status, 0) for status in STATUSES}

    async def depth(self, request: Request) -> Response:
        async with request.app.state.pool.connection() as conn, conn.transaction():
            domain = await self._domain(conn, request.path_params["domain"])
            by_status = await self._depth(conn, domain["id"])
            cursor = await conn.execute(
                "SELECT sender, count(*) FILTER (WHERE status = 'New') AS queued, "
                "count(*) FILTER (WHERE status = 'Claimed') AS in_flight FROM messages "
                "WHERE domain = %s AND status IN ('New', 'Claimed') GROUP BY sender ORDER BY sender", (domain["id"],))
            queues = {row["sender"]: {"queued": row["queued"], "in_flight": row["in_flight"]}
                      for row in await cursor.fetchall()}
        # A queue per sending application: what its readers still have to take (New) or settle (Claimed).
        return JSONResponse({"domain": domain["id"], "by_status": by_status, "queues": queues,
                             "queued": by_status["New"], "in_flight": by_status["Claimed"],
                             "total": sum(by_status.values())})

    async def export(self, request: Request) -> Response:
        """All of a domain's messages as JSON lines, in the order they were received."""
        domain = request.path_params["domain"]
        pool = request.app.state.pool
        async with pool.connection() as conn:
            await self._domain(conn, domain)

        async def lines():  # noqa: ANN202 - an async generator of bytes
            async with pool.connection() as conn, conn.transaction(), conn.cursor(name="export") as cursor:
                await cursor.execute("SELECT seq, id, event, sender, status, retries, received, bundle "
                                     "FROM messages WHERE domain = %s ORDER BY seq", (domain,))
                async for row in cursor:
                    line = {**row, "id": str(row["id"]), "received": row["received"].isoformat()}
                    yield (json.dumps(line, separators=(",", ":")) + "\n").encode()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    async def generate(self, request: Request) -> Response:
        """Fill the domain with synthetic traffic once per (seed, clients, counts); COPY for speed. `counts`
        (optional): the domain's expected counts per type, whose proportions the data follows."""
        wanted = await json_body(request)
        counts = wanted.get("counts", {}) if isinstance(wanted, dict) else None
        if (not isinstance(wanted, dict) or not all(isinstance(wanted.get(k), int) for k in ("seed", "clients"))
                or not isinstance(counts, dict) or not all(isinstance(v, int) and v >= 0 for v in counts.values())):
            raise BadRequest('body must be {"seed": int, "clients": int, "counts": {type: int >= 0} (optional)}')
        spec = {"seed": wanted["seed"], "clients": wanted["clients"], **({"counts": counts} if counts else {})}
        async with request.app.state.pool.connection() as conn, conn.transaction():
            domain = await self._domain(conn, request.path_params["domain"], lock=True)
            if domain["generated"] == spec:
                return contract_result(False, **spec)
            if domain["generated"] is not None:
                raise BadRequest(f"domain {domain['id']} was already filled with {domain['generated']}; "
                                 "remove the domain first to fill it differently", 409, "conflict")
            if dry_run(request):
                return contract_result(True, None, spec, **spec)
            received = datetime.now(UTC)
            apps = generator.creates(domain["config"])
            count = 0
            async with conn.cursor().copy("COPY messages (domain, id, event, sender, patient, focus, received, "
                                          "bundle) FROM STDIN") as copy:
                for sender, bundle in generator.generate(domain["id"], spec["seed"], spec["clients"], apps, counts):
                    header = bundle["entry"][0]["resource"]
                    await copy.write_row((domain["id"], header["id"], header["event"]["code"], sender,
                                          patient_of(header), focus_of(header), received, Jsonb(bundle)))
                    count += 1
            await conn.execute("UPDATE domains SET generated = %s WHERE id = %s", (Jsonb(spec), domain["id"]))
        return contract_result(True, None, spec, messages=count, **spec)


def create_app() -> Starlette:
    config = load_config()
    server = Kt13Server(config)
    base = "/kt13/{domain}/FHIR/Koppeltaal"
    routes = [
        Route(base + "/metadata", server.conformance),
        Route(base + "/Mailbox", server.post_message, methods=["POST"]),
        Route(base + "/MessageHeader/_search", server.claim, methods=["GET"]),
        Route(base + "/MessageHeader/{id}/_status", server.settle, methods=["PUT"]),
        Route("/_contract/health", server.health),
        Route("/_contract/domains/{domain}", server.put_domain, methods=["PUT"]),
        Route("/_contract/domains/{domain}", server.delete_domain, methods=["DELETE"]),
        Route("/_contract/domains/{domain}/traffic", server.flags, methods=["GET", "PUT"]),
        Route("/_contract/domains/{domain}/freeze", server.flags, methods=["GET", "PUT"]),
        Route("/_contract/domains/{domain}/depth", server.depth),
        Route("/_contract/domains/{domain}/export", server.export),
        Route("/_contract/domains/{domain}/generate", server.generate, methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=database_lifespan(config, "kt2ref.kt13"),
                     exception_handlers={BadRequest: bad_request_handler})
