"""The domain admin: a domain's roles and applications, checked before anything is stored, and mirrored to
the FHIR server, where every approved application is a Device whose id is its client id."""

import hashlib
import re
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from kt2ref.auth_service.assertions import key_problem, usable_jwks_keys
from kt2ref.auth_service.tokens import role_scopes
from kt2ref.common import BadRequest

STATUSES = ("pending", "approved", "withdrawn")
FIELDS = ("name", "supplier", "kind", "role", "public_key", "jwks_url", "status", "admin")
CLIENT_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # a FHIR id: it becomes the Device's id


async def load(conn: AsyncConnection, domain: str, lock: bool = False) -> dict[str, Any] | None:
    """The domain as the contract shows it: {name, roles, applications: {client id: entry}, traffic}."""
    cursor = await conn.execute("SELECT name, roles, traffic FROM domains WHERE id = %s"
                                + (" FOR UPDATE" if lock else ""), (domain,))
    row = await cursor.fetchone()
    if row is None:
        return None
    cursor = await conn.execute(f"SELECT client_id, {', '.join(FIELDS)} FROM applications WHERE domain = %s",
                                (domain,))
    apps = {r.pop("client_id"): {k: v for k, v in r.items() if v is not None} for r in await cursor.fetchall()}
    return {"name": row["name"], "roles": row["roles"], "applications": apps, "traffic": row["traffic"]}


def normalise(client_id: str, entry: Any) -> dict[str, Any]:
    """An application entry with its defaults: approved, not the domain admin."""
    if not isinstance(entry, dict):
        raise BadRequest(f"application {client_id}: must be an object")
    return {"status": "approved", "admin": False, **{k: v for k, v in entry.items() if k in FIELDS}}


async def problems(client_id: str, entry: dict[str, Any], roles: dict[str, Any], http: httpx.AsyncClient) -> list[str]:
    """Why this application cannot be registered as it is; empty when it can."""
    found = []
    if not CLIENT_ID.match(client_id):
        found.append("client id must be 1-64 letters, digits, '-' or '.' (it becomes the Device id)")
    for field in ("name", "supplier", "kind", "role"):
        if not isinstance(entry.get(field), str) or not entry[field]:
            found.append(f"{field} is required")
    if entry.get("role") and entry["role"] not in roles:
        found.append(f"unknown role {entry['role']!r}; the domain has {', '.join(sorted(roles)) or 'none'}")
    if entry.get("status") not in STATUSES:
        found.append(f"status must be one of {', '.join(STATUSES)}")
    if ("public_key" in entry) == ("jwks_url" in entry):
        found.append("give exactly one of public_key (PEM) and jwks_url")
    elif "public_key" in entry:
        found.extend(_pem_problems(entry["public_key"]))
    else:
        found.extend(await _jwks_problems(entry["jwks_url"], http))
    return found


def _pem_problems(pem: Any) -> list[str]:
    try:
        key = serialization.load_pem_public_key(str(pem).encode())
    except ValueError as error:
        return [f"public_key is not a PEM public key: {error}"]
    if not isinstance(key, rsa.RSAPublicKey):
        return ["public_key must be RSA (a registered PEM key signs with RS512)"]
    problem = key_problem(key)
    return [f"public_key: {problem}"] if problem else []


async def _jwks_problems(url: Any, http: httpx.AsyncClient) -> list[str]:
    try:
        jwk_set = await fetch_jwks(http, str(url))
    except jwt.PyJWKSetError:
        jwk_set = None  # a JWKS without a key PyJWT can read
    except (httpx.HTTPError, ValueError, jwt.PyJWTError) as error:
        return [f"jwks_url {url} does not answer with a JWKS: {error}"]
    if jwk_set is None or not usable_jwks_keys(jwk_set):
        return [f"jwks_url {url} holds no usable key (RSA >= 2048 bits or EC P-384, use sig)"]
    return []


async def fetch_jwks(http: httpx.AsyncClient, url: str) -> jwt.PyJWKSet:
    if not url.startswith(("http://", "https://")):
        raise ValueError("only http(s) URLs")
    response = await http.get(url, timeout=5)
    response.raise_for_status()
    return jwt.PyJWKSet.from_dict(response.json())


def public_key_sha256(pem: str) -> str:
    """SHA-256 of the key's DER SubjectPublicKeyInfo: what `kt2 comply` compares with the environments' PKI."""
    der = serialization.load_pem_public_key(pem.encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def summary(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a diff shows of a domain: keys as fingerprints, not as pages of PEM."""
    if state is None:
        return None
    apps = {cid: {"role": a["role"], "status": a["status"], "admin": a["admin"],
                  "key": "sha256:" + public_key_sha256(a["public_key"])[:16] if "public_key" in a else a["jwks_url"]}
            for cid, a in sorted(state["applications"].items())}
    return {"name": state["name"], "roles": sorted(state["roles"]), "applications": apps}


async def check(state: dict[str, Any], http: httpx.AsyncClient) -> None:
    """Refuse the whole change, naming every application and what is wrong with it."""
    found = [f"application {cid}: {problem}" for cid, entry in sorted(state["applications"].items())
             for problem in await problems(cid, entry, state["roles"], http)]
    if found:
        raise BadRequest("; ".join(found), 422, "invalid")


async def store(conn: AsyncConnection, domain: str, state: dict[str, Any]) -> None:
    await conn.execute("INSERT INTO domains (id, name, roles) VALUES (%s, %s, %s) ON CONFLICT (id) DO UPDATE "
                       "SET name = excluded.name, roles = excluded.roles",
                       (domain, state["name"], Jsonb(state["roles"])))
    await conn.execute("DELETE FROM applications WHERE domain = %s", (domain,))
    for cid, entry in state["applications"].items():
        await conn.execute(
            f"INSERT INTO applications (domain, client_id, {', '.join(FIELDS)}) "
            f"VALUES (%s, %s, {', '.join(['%s'] * len(FIELDS))})",
            (domain, cid, *(entry.get(f) for f in FIELDS)))


def devices(state: dict[str, Any]) -> dict[str, Any]:
    """What the FHIR server keeps of the domain: a Device (and Endpoint) per approved application, and the
    scope its role gives it (what the server narrows the application's notifications to)."""
    return {"name": state["name"], "applications": {
        cid: {**{k: a[k] for k in ("name", "supplier", "kind", "admin")},
              "scope": " ".join(role_scopes(state["roles"][a["role"]], cid))}
        for cid, a in sorted(state["applications"].items()) if a["status"] == "approved"}}
