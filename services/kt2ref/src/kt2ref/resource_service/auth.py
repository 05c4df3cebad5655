"""What an access token allows: verified against the authentication service's JWKS (RS512, its issuer for
the domain, audience fhir-server, 60 s leeway), the scopes read from it. The Device check is the caller's."""

import asyncio
from dataclasses import dataclass

import jwt

from kt2ref import smart
from kt2ref.common import BadRequest

LEEWAY = 60
ALGORITHMS = ["RS512"]


class TokenVerifier:
    def __init__(self, jwks_endpoint: str, public_base_url: str) -> None:
        # A key the cached JWKS does not know (just rotated in) is fetched at most every 5 s.
        self.jwks = jwt.PyJWKClient(jwks_endpoint, cache_jwk_set=True, lifespan=300, cooldown_duration=5, timeout=5)
        self.public_base_url = public_base_url

    async def grant(self, header: str | None, domain: str) -> "Grant":
        if not header or not header.lower().startswith("bearer "):
            raise BadRequest("an access token is required (Authorization: Bearer)", 401, "login")
        token = header[7:]
        try:
            key = await asyncio.to_thread(self.jwks.get_signing_key_from_jwt, token)
            claims = jwt.decode(token, key.key, algorithms=ALGORITHMS, audience=smart.AUDIENCE, leeway=LEEWAY,
                                options={"require": ["exp", "iss", "aud", "azp", "scope"], "verify_iss": False})
        except (jwt.PyJWTError, jwt.PyJWKClientError) as error:
            raise BadRequest(f"access token rejected: {error}", 401, "login") from error
        if claims["iss"] != smart.oauth_base(self.public_base_url, domain):
            raise BadRequest(f"this access token is for domain {claims.get('domain')} (issuer {claims['iss']}), "
                             f"not {domain}", 403, "forbidden")
        return Grant.from_claims(claims)


@dataclass(frozen=True)
class Grant:
    """What a verified access token allows."""

    client_id: str  # azp: also the id of the application's Device
    scopes: tuple[tuple[str, str, tuple[str, ...] | None], ...]  # (type, letters, resource-origins or None: all)
    migration: bool = False  # admitted to the migration: may keep the KT 1.3 owner's Device as resource-origin

    @classmethod
    def from_claims(cls, claims: dict) -> "Grant":
        scopes = []
        for item in claims["scope"].split():
            resource_part, _, query = item.partition("?")
            resource_type, _, letters = resource_part.removeprefix("system/").partition(".")
            origins = tuple(query.removeprefix("resource-origin=").split(",")) \
                if query.startswith("resource-origin=") else None
            scopes.append((resource_type, letters, origins))
        return cls(claims["azp"], tuple(scopes))

    @property
    def device(self) -> str:
        return f"Device/{self.client_id}"

    def reach(self, resource_type: str, letter: str) -> tuple[str, ...] | None:
        """None for every resource of the type, else the resource-origins this grant is limited to; raises
        when the operation is not allowed at all."""
        granted = [origins for rtype, letters, origins in self.scopes
                   if rtype in (resource_type, "*") and letter in letters]
        if not granted:
            raise BadRequest(f"the role of {self.client_id} does not allow '{letter}' on {resource_type}", 403,
                             "forbidden")
        if None in granted:
            return None
        return tuple(dict.fromkeys(o for origins in granted if origins for o in origins))
