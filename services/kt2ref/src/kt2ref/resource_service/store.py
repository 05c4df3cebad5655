"""PostgreSQL storage of the resource service: JSONB rows, one tenant (domain) per transaction."""

import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from kt2ref.common import BadRequest


@asynccontextmanager
async def tenant(pool: AsyncConnectionPool, domain: str) -> AsyncIterator[AsyncConnection]:
    """A transaction that can only see and change rows of this domain (row-level security)."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SELECT set_config('kt2.domain', %s, true)", (domain,))
        yield conn


def with_meta(row: dict[str, Any]) -> dict[str, Any]:
    body = dict(row["body"])
    body["id"] = row["id"]
    body["meta"] = {**body.get("meta", {}), "versionId": str(row["version"]),
                    "lastUpdated": row["last_updated"].isoformat()}
    return body


def new_id() -> str:
    return str(uuid.uuid4())


async def insert(conn: AsyncConnection, domain: str, resource: dict[str, Any], origin: str | None,
                 resource_id: str | None = None) -> dict[str, Any]:
    resource_id = resource_id or new_id()
    now = datetime.now(UTC)
    row = {"id": resource_id, "version": 1, "last_updated": now, "body": resource}
    body = with_meta(row)
    await conn.execute(
        "INSERT INTO resources (domain, type, id, version, last_updated, origin, body) "
        "VALUES (%s, %s, %s, 1, %s, %s, %s)",
        (domain, resource["resourceType"], resource_id, now, origin, Jsonb(body)))
    return body


async def fetch(conn: AsyncConnection, resource_type: str, resource_id: str, lock: bool = False) -> dict | None:
    query = "SELECT id, version, last_updated, deleted, origin, body FROM resources WHERE type = %s AND id = %s"
    cursor = await conn.execute(query + (" FOR UPDATE" if lock else ""), (resource_type, resource_id))
    return await cursor.fetchone()


async def replace(conn: AsyncConnection, current: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    """A new live version (of a deleted resource too: an application approved again gets its Device back)."""
    now = datetime.now(UTC)
    version = current["version"] + 1
    body = with_meta({"id": current["id"], "version": version, "last_updated": now, "body": resource})
    await conn.execute("UPDATE resources SET version = %s, last_updated = %s, body = %s, deleted = false "
                       "WHERE type = %s AND id = %s",
                       (version, now, Jsonb(body), resource["resourceType"], current["id"]))
    return body


async def mark_deleted(conn: AsyncConnection, resource_type: str, resource_id: str) -> None:
    """Logical delete: the row stays (for audit and counts of what was there), reads answer 410."""
    await conn.execute("UPDATE resources SET deleted = true, version = version + 1, last_updated = now() "
                       "WHERE type = %s AND id = %s", (resource_type, resource_id))


async def count(conn: AsyncConnection, resource_type: str, conditions: list[str], args: list[Any]) -> int:
    where = " AND ".join(["type = %s", "NOT deleted", *conditions])
    cursor = await conn.execute(f"SELECT count(*) AS n FROM resources WHERE {where}", (resource_type, *args))
    return (await cursor.fetchone())["n"]


async def page(conn: AsyncConnection, resource_type: str, conditions: list[str], args: list[Any], limit: int,
               after: tuple[datetime, str] | None) -> tuple[list[dict[str, Any]], tuple[datetime, str] | None]:
    """One page in (last_updated, id) order after the keyset `after`, and the keyset of the next page (None at
    the end): every page costs the same, however deep into the result it lies (an OFFSET reads all before)."""
    where = ["type = %s", "NOT deleted", *conditions]
    if after is not None:
        where.append("(last_updated, id) > (%s, %s)")
        args = [*args, *after]
    cursor = await conn.execute(
        f"SELECT id, last_updated, body FROM resources WHERE {' AND '.join(where)} "
        "ORDER BY last_updated, id LIMIT %s", (resource_type, *args, limit + 1))
    rows = await cursor.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return [row["body"] for row in rows], (rows[-1]["last_updated"], rows[-1]["id"]) if more else None


async def find_one(conn: AsyncConnection, resource_type: str, conditions: list[str], args: list[Any]) -> dict | None:
    """The single match of a conditional create; None when there is none; an error when ambiguous."""
    where = " AND ".join(["type = %s", "NOT deleted", *conditions])
    cursor = await conn.execute(f"SELECT body FROM resources WHERE {where} LIMIT 2", (resource_type, *args))
    rows = await cursor.fetchall()
    if len(rows) > 1:
        raise BadRequest("If-None-Exist matches more than one resource", 412, "multiple-matches")
    return rows[0]["body"] if rows else None


async def totals(conn: AsyncConnection) -> dict[str, Any]:
    """Per-type counts and hash totals of the domain's live resources (meta excluded, so a copy of the
    same content elsewhere gives the same hash), plus one hash total over all types."""
    cursor = await conn.execute(
        "SELECT type, count(*) AS n, encode(sha256(convert_to(string_agg(id || ':' || md5((body - 'meta')::text), "
        "',' ORDER BY id), 'UTF8')), 'hex') AS hash FROM resources WHERE NOT deleted GROUP BY type ORDER BY type")
    rows = await cursor.fetchall()
    counts = {row["type"]: row["n"] for row in rows}
    hashes = {row["type"]: row["hash"] for row in rows}
    total = hashlib.sha256(",".join(f"{t}={h}" for t, h in sorted(hashes.items())).encode()).hexdigest()
    return {"counts": counts, "hashes": hashes, "hash_total": total}
