"""The access token: what an approved application may do in its domain, signed RS512 for five minutes."""

import time
import uuid
from typing import Any

from kt2ref.smart import AUDIENCE

TOKEN_LIFETIME = 300
OPERATION_LETTERS = {"create": "c", "read": "rs", "update": "u", "delete": "d"}


def role_scopes(role: dict[str, Any], client_id: str) -> list[str]:
    """SMART v2 scopes from the role, not from the request: scope own limits a type to the application's own
    Device, granted to its own and the Devices the permission lists."""
    scopes = []
    for permission in role["permissions"]:
        letters = "".join(OPERATION_LETTERS[op] for op in ("create", "read", "update", "delete")
                          if op in permission["operations"])
        scope = f"system/{permission['resource']}.{letters}"
        if permission["scope"] != "all":
            devices = [client_id, *(permission.get("granted", []) if permission["scope"] == "granted" else [])]
            scope += "?resource-origin=" + ",".join(f"Device/{d}" for d in dict.fromkeys(devices))
        scopes.append(scope)
    return scopes


def access_claims(issuer: str, domain: str, client_id: str, scope: str) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": issuer, "aud": AUDIENCE, "sub": client_id, "azp": client_id, "client_id": client_id,
            "domain": domain, "scope": scope, "type": "access", "iat": now, "nbf": now,
            "exp": now + TOKEN_LIFETIME, "jti": str(uuid.uuid4())}
