"""SMART backend services, the client's side of it: the signed assertion an application sends to the token
endpoint, checked against the key or JWKS the domain admin registered for it."""

import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# As KT's authentication service: a registered JWKS may sign with these; a registered PEM key with RS512 only.
JWKS_ALGORITHMS = ["RS384", "ES384", "RS512"]
PEM_ALGORITHMS = ["RS512"]
MAX_ASSERTION_LIFETIME = 300
MIN_RSA_BITS = 2048


class TokenError(Exception):
    """An OAuth2 error response (RFC 6749 5.2)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": str(self)}


def key_problem(key: Any) -> str | None:
    """Why a public key cannot identify an application, or None when it can."""
    if isinstance(key, rsa.RSAPublicKey):
        return None if key.key_size >= MIN_RSA_BITS else \
            f"RSA key of {key.key_size} bits; at least {MIN_RSA_BITS} are required"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return None if key.curve.name == "secp384r1" else f"EC key on {key.curve.name}; ES384 needs P-384"
    return f"unsupported key type {type(key).__name__}"


def usable_jwks_keys(jwk_set: jwt.PyJWKSet) -> list[jwt.PyJWK]:
    return [k for k in jwk_set.keys if k.public_key_use in ("sig", None) and key_problem(k.key) is None]


def client_of(form: dict[str, str]) -> str:
    """The client id an assertion claims, before anything is trusted."""
    if form.get("grant_type") != "client_credentials":
        raise TokenError("unsupported_grant_type", "grant_type must be client_credentials")
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise TokenError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
    try:
        claims = jwt.decode(form.get("client_assertion", ""), options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise TokenError("invalid_client", f"client_assertion is not a JWT: {error}", 401) from error
    client_id = claims.get("iss")
    if not isinstance(client_id, str) or not client_id:
        raise TokenError("invalid_client", "client_assertion has no iss (the client id)", 401)
    return client_id


def pick_key(assertion: str, keys: list[jwt.PyJWK]) -> Any:
    """The registered JWKS key the assertion names by kid (or the only one when it names none)."""
    kid = jwt.get_unverified_header(assertion).get("kid")
    if kid is None:
        if len(keys) != 1:
            raise TokenError("invalid_client", "the registered JWKS has several keys: the assertion needs a kid", 401)
        return keys[0].key
    for key in keys:
        if key.key_id == kid:
            return key.key
    raise TokenError("invalid_client", f"the registered JWKS has no usable key with kid {kid!r}", 401)


def verify(assertion: str, client_id: str, key: Any, algorithms: list[str], token_url: str) -> dict[str, Any]:
    """The assertion's claims when it is signed by the application's key for this token endpoint."""
    header = jwt.get_unverified_header(assertion)
    if header.get("alg") not in algorithms:
        raise TokenError("invalid_client", f"client_assertion alg {header.get('alg')!r} is not accepted for "
                         f"{client_id}; use {', '.join(algorithms)}", 401)
    try:
        claims = jwt.decode(assertion, key, algorithms=algorithms, audience=token_url, issuer=client_id,
                            options={"require": ["exp", "jti", "sub", "aud", "iss"]})
    except jwt.InvalidSignatureError as error:
        raise TokenError("invalid_client", "client_assertion is not signed with the key registered for "
                         f"{client_id} on this environment", 401) from error
    except jwt.ExpiredSignatureError as error:
        raise TokenError("invalid_client", "client_assertion has expired", 401) from error
    except jwt.InvalidAudienceError as error:
        raise TokenError("invalid_client", f"client_assertion aud must be exactly {token_url}", 401) from error
    except jwt.PyJWTError as error:
        raise TokenError("invalid_client", f"client_assertion rejected: {error}", 401) from error
    if claims["sub"] != client_id:
        raise TokenError("invalid_client", "client_assertion sub must equal iss", 401)
    if claims["exp"] - time.time() > MAX_ASSERTION_LIFETIME:
        raise TokenError("invalid_client", "client_assertion may be valid for at most 5 minutes", 401)
    return claims
