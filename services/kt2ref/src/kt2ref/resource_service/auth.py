"""SMART backend-services authentication: private_key_jwt assertions in, scoped access tokens out."""

import os
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from kt2ref.common import BadRequest

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]
MAX_ASSERTION_LIFETIME = 300
TOKEN_LIFETIME = 300
OPERATION_LETTERS = {"create": "c", "read": "rs", "update": "u", "delete": "d"}


class TokenError(Exception):
    """An OAuth2 error response (RFC 6749 5.2)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status = status


def token_secret(state_dir: str) -> bytes:
    """The key that signs access tokens: made once per host, readable by the service only. A service's
    workers start together, so the key is written aside and linked into place whole: a worker never reads
    a key another is still writing (an empty key made the token endpoint fail with 500)."""
    path = Path(state_dir) / "token.secret"
    if not path.exists():
        fd, draft = tempfile.mkstemp(dir=state_dir, prefix=".token.secret.")  # 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(32))
            os.link(draft, path)
        except FileExistsError:
            pass  # another worker's key came first: all use that one
        finally:
            os.unlink(draft)
    return path.read_bytes()


def role_scopes(role: dict[str, Any], device_id: str) -> list[str]:
    """SMART v2 scopes from a role's permissions; scope own/granted limits to the app's own resources."""
    scopes = []
    for permission in role["permissions"]:
        letters = "".join(OPERATION_LETTERS[op] for op in ("create", "read", "update", "delete")
                          if op in permission["operations"])
        scope = f"system/{permission['resource']}.{letters}"
        if permission["scope"] != "all":
            scope += f"?resource-origin=Device/{device_id}"
        scopes.append(scope)
    return scopes


def issue_token(domain_config: dict[str, Any], form: dict[str, str], token_url: str, secret: bytes) -> dict:
    """Check a client_credentials request against the application's registered key; return the token."""
    if form.get("grant_type") != "client_credentials":
        raise TokenError("unsupported_grant_type", "grant_type must be client_credentials")
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise TokenError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
    assertion = form.get("client_assertion", "")
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise TokenError("invalid_client", f"client_assertion is not a JWT: {error}", 401) from error
    client_id = unverified.get("iss")
    application = domain_config["applications"].get(client_id) if isinstance(client_id, str) else None
    if application is None:
        raise TokenError("invalid_client", f"unknown client {client_id!r} in domain {domain_config['id']}", 401)
    try:
        claims = jwt.decode(assertion, application["public_key"], algorithms=ASSERTION_ALGORITHMS,
                            audience=token_url, issuer=client_id, options={"require": ["exp", "jti", "sub"]})
    except jwt.InvalidSignatureError as error:
        raise TokenError("invalid_client", "client_assertion is not signed with the key registered for "
                         f"{client_id} on this environment", 401) from error
    except jwt.PyJWTError as error:
        raise TokenError("invalid_client", f"client_assertion rejected: {error}", 401) from error
    if claims["sub"] != client_id:
        raise TokenError("invalid_client", "client_assertion sub must equal iss", 401)
    if claims["exp"] - time.time() > MAX_ASSERTION_LIFETIME:
        raise TokenError("invalid_client", "client_assertion may be valid for at most 5 minutes", 401)
    role = domain_config["roles"][application["role"]]
    scope = " ".join(role_scopes(role, application["device_id"]))
    now = int(time.time())
    token = jwt.encode({"iss": token_url, "sub": client_id, "domain": domain_config["id"],
                        "device": application["device_id"], "kind": application.get("kind"), "scope": scope, "iat": now,
                        "exp": now + TOKEN_LIFETIME, "jti": str(uuid.uuid4())}, secret, algorithm="HS256")
    return {"access_token": token, "token_type": "bearer", "expires_in": TOKEN_LIFETIME, "scope": scope,
            "assertion_jti": claims["jti"], "assertion_exp": claims["exp"], "kind": application.get("kind")}


@dataclass(frozen=True)
class Grant:
    """What a verified access token allows."""

    client_id: str
    device: str
    kind: str | None  # "migration": may keep the KT 1.3 owner's Device as resource-origin
    scopes: tuple[tuple[str, str, str | None], ...]  # (resource type, letters, resource-origin or None)

    @classmethod
    def from_header(cls, header: str | None, domain: str, secret: bytes) -> "Grant":
        if not header or not header.lower().startswith("bearer "):
            raise BadRequest("an access token is required (Authorization: Bearer)", 401, "login")
        try:
            claims = jwt.decode(header[7:], secret, algorithms=["HS256"])
        except jwt.PyJWTError as error:
            raise BadRequest(f"access token rejected: {error}", 401, "login") from error
        if claims.get("domain") != domain:
            raise BadRequest(f"this access token is for domain {claims.get('domain')}, not {domain}", 403,
                             "forbidden")
        scopes = []
        for item in claims["scope"].split():
            resource_part, _, query = item.partition("?")
            resource_type, _, letters = resource_part.removeprefix("system/").partition(".")
            origin = query.removeprefix("resource-origin=") if query.startswith("resource-origin=") else None
            scopes.append((resource_type, letters, origin))
        return cls(claims["sub"], claims["device"], claims.get("kind"), tuple(scopes))

    def reach(self, resource_type: str, letter: str) -> str | None:
        """'all' or the resource-origin this grant is limited to; raises when the operation is not allowed."""
        origins = [origin for rtype, letters, origin in self.scopes if rtype == resource_type and letter in letters]
        if not origins:
            raise BadRequest(f"the role of {self.client_id} does not allow '{letter}' on {resource_type}", 403,
                             "forbidden")
        return "all" if None in origins else origins[0]
