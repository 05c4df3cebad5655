"""Domain administration through the contract, as the authentication service's domain admin mirrors it: the
tenant, its Organization, and per approved application a Device and an Endpoint whose id is the client id."""

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from kt2ref.common import canonical_hash
from kt2ref.resource_service import store

CLIENT_ID_SYSTEM = "http://vzvz.nl/fhir/NamingSystem/koppeltaal-client-id"
DOMAIN_SYSTEM = "urn:kt2ops:domain"
# Fixed by the KT2Endpoint profile (KT2Device prohibits manufacturer, so the supplier is not on the Device).
ENDPOINT_CONNECTION = {"system": "http://vzvz.nl/fhir/CodeSystem/koppeltaal-endpoint-connection-type",
                       "code": "hti-smart-on-fhir"}
ENDPOINT_PAYLOAD = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/endpoint-payload-type",
                                "code": "any"}]}


def summary(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if config is None:
        return None
    return {"name": config["name"], "applications": sorted(config["applications"])}


async def current(conn: AsyncConnection, domain: str) -> dict[str, Any] | None:
    cursor = await conn.execute("SELECT config, config_hash, traffic_open FROM domains WHERE id = %s", (domain,))
    return await cursor.fetchone()


async def apply(conn: AsyncConnection, domain: str, wanted: dict[str, Any]) -> None:
    """Create or update the domain: its Organization, a Device and Endpoint per application, none for others."""
    row = await current(conn, domain)
    stored = row["config"] if row else {"applications": {}}
    if row is None:
        await conn.execute("INSERT INTO domains (id, config, config_hash) VALUES (%s, '{}', '')", (domain,))
    org = await _ensure(conn, domain, "Organization", stored.get("organization_id"),
                        {"resourceType": "Organization", "active": True, "name": wanted["name"],
                         "identifier": [{"system": DOMAIN_SYSTEM, "value": domain}]})
    for cid, app in wanted["applications"].items():
        identifier = [{"system": CLIENT_ID_SYSTEM, "value": cid}]
        await _ensure(conn, domain, "Device", cid, {
            "resourceType": "Device", "status": "active", "identifier": identifier,
            "deviceName": [{"name": app["name"], "type": "user-friendly-name"}],
            "owner": {"reference": f"Organization/{org}"}})
        await _ensure(conn, domain, "Endpoint", cid, {
            "resourceType": "Endpoint", "status": "active", "name": app["name"], "identifier": identifier,
            "connectionType": ENDPOINT_CONNECTION, "payloadType": [ENDPOINT_PAYLOAD],
            "address": f"urn:kt2ops:application:{cid}",
            "managingOrganization": {"reference": f"Organization/{org}"}})
    for cid in stored["applications"].keys() - wanted["applications"].keys():
        await store.mark_deleted(conn, "Device", cid)
        await store.mark_deleted(conn, "Endpoint", cid)
    config = {**wanted, "id": domain, "organization_id": org}
    await conn.execute("UPDATE domains SET config = %s, config_hash = %s WHERE id = %s",
                       (Jsonb(config), canonical_hash(wanted), domain))


async def _ensure(conn: AsyncConnection, domain: str, resource_type: str, resource_id: str | None,
                  resource: dict[str, Any]) -> str:
    """The id of the resource, created or brought up to date (a new version only when it differs)."""
    if resource_id:
        row = await store.fetch(conn, resource_type, resource_id, lock=True)
        if row:
            old = {k: v for k, v in row["body"].items() if k not in ("id", "meta")}
            if old != resource or row["deleted"]:
                await store.replace(conn, row, {**resource, "id": resource_id})
            return resource_id
    return (await store.insert(conn, domain, resource, origin=None, resource_id=resource_id))["id"]
