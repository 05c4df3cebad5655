"""The certificates of the PKI kept on the control machine, as the B.6 controls compare them. Kept apart
from the host and TLS collectors so that a deploy's pre-check (the shared_pki lookup) loads no scanner."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization


def describe_certificate(cert: x509.Certificate) -> dict[str, Any]:
    """The facts of a certificate that the controls compare (no key material)."""
    public = cert.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    return {
        "subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(), "dns_names": names,
        "sha256": hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
        "public_key_sha256": hashlib.sha256(public).hexdigest(),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }


def pki_certificates(pki_root: Path, env_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The certificates kept on the control machine per environment (CA, server, applications)."""
    pki: dict[str, list[dict[str, Any]]] = {}
    for env in env_ids:
        root = pki_root / env
        certs = []
        for path in sorted(root.rglob("*.crt")) if root.is_dir() else []:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
            certs.append({"file": str(path.relative_to(pki_root.parent)), "role": _role(path.relative_to(root)),
                          **describe_certificate(cert)})
        pki[env] = certs
    return pki


def _role(relative: Path) -> str:
    return "application" if relative.parts[0] == "apps" else relative.stem
