"""What the three reference services share: configuration, database pool, responses, contract helpers."""

import hashlib
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

FHIR_JSON = "application/fhir+json"


def load_config() -> dict[str, Any]:
    with open(os.environ["KT2REF_CONFIG"], encoding="utf-8") as handle:
        return json.load(handle)


def canonical_hash(value: Any) -> str:
    """A stable hash of a JSON value, to tell whether a configuration changed."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def database_lifespan(config: dict[str, Any], package: str) -> Callable[[Starlette], Any]:
    """Open the pool and apply the package's schema.sql (idempotent) when the service starts."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # No server-side prepared statements: a plan cached while a table was small (a migration starts on
        # an empty domain) would keep scanning it whole long after it grew; planning afresh costs far less.
        # Each connection is checked as it is handed out: after a database restart a dead pooled connection is
        # replaced instead of failing the request that drew it.
        pool = AsyncConnectionPool(config["dsn"], min_size=1, max_size=int(config.get("pool_size", 8)), open=False,
                                   kwargs={"row_factory": dict_row, "prepare_threshold": None},
                                   check=AsyncConnectionPool.check_connection)
        await pool.open(wait=True)
        schema = resources.files(package).joinpath("schema.sql").read_text(encoding="utf-8")
        async with pool.connection() as conn:
            # One migration at a time when several workers start together.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (package,))
            await conn.execute(schema)
        app.state.pool = pool
        yield
        await pool.close()

    return lifespan


def outcome(status: int, message: str, code: str = "invalid", headers: dict[str, str] | None = None) -> JSONResponse:
    """A FHIR OperationOutcome with one issue; the message is what the client sees."""
    body = {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": message}]}
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def dry_run(request: Request) -> bool:
    """Contract calls with ?dry_run=true report what they would change (Ansible's check mode)."""
    return request.query_params.get("dry_run", "").lower() in {"1", "true", "yes"}


def contract_result(changed: bool, before: Any = None, after: Any = None, **extra: Any) -> JSONResponse:
    result: dict[str, Any] = {"changed": changed, **extra}
    if changed:
        result["diff"] = {"before": before, "after": after}
    return JSONResponse(result)


async def json_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError as error:
        raise BadRequest(f"request body is not valid JSON: {error}") from error


class BadRequest(Exception):
    """Raised for client errors; turned into a 400 OperationOutcome (with headers such as WWW-Authenticate)."""

    def __init__(self, message: str, status: int = 400, code: str = "invalid",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers


async def bad_request_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BadRequest)
    return outcome(exc.status, str(exc), exc.code, exc.headers)
