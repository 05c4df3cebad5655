"""HTTP basic authentication of KT 1.3 applications against the credential their domain registered.

The registered credential is a verifier, never the password: `sha256$<salt>$<digest>` with digest =
SHA-256(salt + password). The passwords are random 256-bit tokens issued by the control machine, not
words a person chose, so a slow password hash would add cost per message without adding protection."""

import base64
import binascii
import hashlib
import hmac
from typing import Any

from starlette.requests import Request

from kt2ref.common import BadRequest


def matches(verifier: str | None, password: str) -> bool:
    scheme, _, rest = (verifier or "").partition("$")
    salt, _, digest = rest.partition("$")
    if scheme != "sha256" or not salt or not digest:
        return False
    return hmac.compare_digest(hashlib.sha256((salt + password).encode()).hexdigest(), digest)


def application(request: Request, domain: dict[str, Any]) -> str:
    """The application calling, proven by its credential; otherwise 401 with a Basic challenge."""
    challenge = {"WWW-Authenticate": f'Basic realm="KT 1.3 {domain["id"]}", charset="UTF-8"'}
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise BadRequest(f"authentication required: each application of domain {domain['id']} authenticates "
                         "with its KT 1.3 credential (HTTP basic)", 401, "login", challenge)
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user, password = "", ""
    entry = domain["config"]["applications"].get(user) or {}
    if not matches(entry.get("credential"), password):
        raise BadRequest(f"the credentials are not those of an application of domain {domain['id']}", 401,
                         "login", challenge)
    return user
