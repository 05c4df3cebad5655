"""The authentication service's own signing keys: RSA keys of the environment, the first signs, all are
published (a rotated-out key stays in the JWKS while tokens it signed can still be alive)."""

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

TOKEN_ALGORITHM = "RS512"


def thumbprint(public_jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): the key id, derived from the key itself."""
    canonical = json.dumps({k: public_jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    @classmethod
    def load(cls, path: str) -> "SigningKey":
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{path}: a token signing key must be RSA (RS512)")
        return cls(thumbprint(public_jwk(key.public_key())), key)


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    return RSAAlgorithm.to_jwk(public_key, as_dict=True)


class SigningKeys:
    def __init__(self, paths: list[str]) -> None:
        if not paths:
            raise ValueError("signing_keys: at least one key is needed")
        self.keys = [SigningKey.load(path) for path in paths]

    def sign(self, claims: dict[str, Any]) -> str:
        current = self.keys[0]
        return jwt.encode(claims, current.private, algorithm=TOKEN_ALGORITHM, headers={"kid": current.kid})

    def verify(self, token: str, **options: Any) -> dict[str, Any]:
        """Claims of a token this service signed (any published key); raises jwt.PyJWTError otherwise."""
        kid = jwt.get_unverified_header(token).get("kid")
        key = next((k for k in self.keys if k.kid == kid), None)
        if key is None:
            raise jwt.InvalidKeyError(f"no published key has kid {kid!r}")
        return jwt.decode(token, key.private.public_key(), algorithms=[TOKEN_ALGORITHM], **options)

    def jwks(self) -> dict[str, Any]:
        """Public parts only: n and e, never d or the primes."""
        return {"keys": [{**public_jwk(k.private.public_key()), "kid": k.kid, "use": "sig", "alg": TOKEN_ALGORITHM}
                         for k in self.keys]}
