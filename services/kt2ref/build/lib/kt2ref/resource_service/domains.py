"""Domain administration through the contract: tenant, Organization, applications as Device + Endpoint."""

import hashlib
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from kt2ref.common import canonical_hash
from kt2ref.resource_service import store

SYSTEM = "urn:kt2ops"


def summary(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a diff shows of a domain: keys as fingerprints, not as pages of PEM."""
    if config is None:
        return None
    apps = {cid: {"role": app["role"], "kind": app.get("kind"),
                  "key_sha256": hashlib.sha256(app["public_key"].encode()).hexdigest()[:16]}
            for cid, app in sorted(config["applications"].items())}
    return {"name": config["name"], "roles": sorted(config["roles"]), "applications": apps}


async def current(conn: AsyncConnection, domain: str) -> dict[str, Any] | None:
    cursor = await conn.execute("SELECT config, config_hash, traffic_open FROM domains WHERE id = %s", (domain,))
    return await cursor.fetchone()


async def apply(conn: AsyncConnection, domain: str, wanted: dict[str, Any]) -> dict[str, Any]:
    """Create or update the domain; returns the stored configuration (with the Device ids)."""
    row = await current(conn, domain)
    stored = row["config"] if row else {"applications": {}}
    if row is None:
        await conn.execute("INSERT INTO domains (id, config, config_hash) VALUES (%s, '{}', '')", (domain,))
    config = {**wanted, "id": domain, "applications": {}}
    org = await _ensure(conn, domain, "Organization", stored.get("organization_id"),
                        {"resourceType": "Organization", "active": True, "name": wanted["name"],
                         "identifier": [{"system": f"{SYSTEM}:domain", "value": domain}]})
    config["organization_id"] = org
    for cid, app in wanted["applications"].items():
        old = stored["applications"].get(cid, {})
        device = await _ensure(conn, domain, "Device", old.get("device_id"), {
            "resourceType": "Device", "status": "active",
            "identifier": [{"system": f"{SYSTEM}:application", "value": cid}],
            "deviceName": [{"name": app["name"], "type": "user-friendly-name"}],
            "manufacturer": app.get("supplier", ""), "owner": {"reference": f"Organization/{org}"}})
        endpoint = await _ensure(conn, domain, "Endpoint", old.get("endpoint_id"), {
            "resourceType": "Endpoint", "status": "active", "name": app["name"],
            "identifier": [{"system": f"{SYSTEM}:application", "value": cid}],
            "connectionType": {"system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
                               "code": "hl7-fhir-rest"},
            "payloadType": [{"text": "FHIR R4"}], "address": f"urn:kt2ops:application:{cid}",
            "managingOrganization": {"reference": f"Organization/{org}"}})
        config["applications"][cid] = {**app, "device_id": device, "endpoint_id": endpoint}
    for cid, old in stored["applications"].items():
        if cid not in wanted["applications"]:
            await store.mark_deleted(conn, "Device", old["device_id"])
            await store.mark_deleted(conn, "Endpoint", old["endpoint_id"])
    await conn.execute("UPDATE domains SET config = %s, config_hash = %s WHERE id = %s",
                       (Jsonb(config), canonical_hash(wanted), domain))
    return config


async def _ensure(conn: AsyncConnection, domain: str, resource_type: str, resource_id: str | None,
                  resource: dict[str, Any]) -> str:
    """The id of the resource, created or brought up to date (a new version only when it differs)."""
    if resource_id:
        row = await store.fetch(conn, resource_type, resource_id, lock=True)
        if row and not row["deleted"]:
            old = {k: v for k, v in row["body"].items() if k not in ("id", "meta")}
            if old != resource:
                await store.replace(conn, row, {**resource, "id": resource_id})
            return resource_id
    return (await store.insert(conn, domain, resource, origin=None))["id"]
