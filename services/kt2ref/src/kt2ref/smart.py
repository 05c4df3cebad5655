"""Where a domain's SMART endpoints are: the authentication service publishes the domain's smart-configuration
at its oauth2 base and, through nginx, at the domain's FHIR base."""

from typing import Any

AUDIENCE = "fhir-server"  # the aud of every access token, as KT's FHIR server expects it


def oauth_base(public_base_url: str, domain: str) -> str:
    """The authentication service of a domain; also the iss of the access tokens it issues."""
    return f"{public_base_url.rstrip('/')}/api/v1/{domain}/oauth2"


def configuration(public_base_url: str, domain: str) -> dict[str, Any]:
    oauth = oauth_base(public_base_url, domain)
    return {
        "issuer": oauth,
        "jwks_uri": f"{oauth}/.well-known/jwks.json",
        "token_endpoint": f"{oauth}/token",
        "introspection_endpoint": f"{oauth}/introspect",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384", "RS512"],
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": ["system/*.cruds"],
        "capabilities": ["client-confidential-asymmetric"],
    }
