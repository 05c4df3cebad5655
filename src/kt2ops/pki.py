"""The keys and certificates kt2ops makes on the control machine: the applications' client certificates from
their environment's CA, and the token signing keys. (Role kt2_pki makes the CA and the server certificate
with community.crypto.) Private keys are stored vault-encrypted (kt2ops.secrets); certificates in the clear.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kt2ops.errors import Kt2OpsError
from kt2ops.secrets import SecretError, read_secret, write_secret

KEY_BITS = 3072  # RSA, as KT 2.0 asks of client and signing keys


class PkiError(Kt2OpsError):
    """A key or certificate cannot be read or used; the message names the file or the environment."""


@dataclass(frozen=True)
class Ca:
    """An environment's CA, as it issues the applications' certificates."""

    environment: str
    certificate: x509.Certificate
    key: PrivateKeyTypes


def load_ca(certificate: Path, private_key: Path, environment: str) -> Ca:
    try:
        cert = x509.load_pem_x509_certificate(certificate.read_bytes())
        key = serialization.load_pem_private_key(read_secret(private_key), password=None)
    except (OSError, ValueError, SecretError) as error:
        raise PkiError(f"{environment}: cannot read the environment's CA: {error}") from None
    return Ca(environment, cert, key)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def read_private_key(path: Path | str) -> PrivateKeyTypes:
    """A stored private key. Its public half and signing are all that is used, so the full RSA check (about
    140 ms a key, the larger part of a provision run that changes nothing) is skipped."""
    try:
        return serialization.load_pem_private_key(read_secret(path), password=None,
                                                  unsafe_skip_rsa_key_validation=True)
    except ValueError as error:
        raise PkiError(f"{path}: unreadable private key: {error}") from None


def write_private_key(path: Path | str, key: PrivateKeyTypes) -> None:
    write_secret(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))


def read_certificate(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError as error:
        raise PkiError(f"{path}: unreadable certificate: {error}") from None


def write_certificate(path: Path, cert: x509.Certificate) -> None:
    """Readable by all (a certificate is public), replaced whole."""
    fd = os.open(f"{path}.tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(f"{path}.tmp", path)


def public_pem(key: PrivateKeyTypes) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def issue_client_certificate(key: PrivateKeyTypes, ca: Ca, domain: str, app_id: str, valid_days: int,
                             now: datetime.datetime) -> x509.Certificate:
    """An application's certificate on one environment: CN its id, OU its domain, O the environment."""
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, app_id),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, domain),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"Koppeltaal {ca.environment}"),
    ])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )


def issued_by(cert: x509.Certificate, ca: Ca) -> bool:
    try:
        cert.verify_directly_issued_by(ca.certificate)
    except Exception:  # InvalidSignature, or a different issuer name or key type: a foreign credential
        return False
    return True


def same_key(cert: x509.Certificate, key: PrivateKeyTypes) -> bool:
    return cert.public_key().public_numbers() == key.public_key().public_numbers()


def own_credential(cert: x509.Certificate, key: PrivateKeyTypes, ca: Ca) -> bool:
    """Issued by this CA for this key: the only kind kt2ops renews (a foreign one must fail, not be re-signed)."""
    return issued_by(cert, ca) and same_key(cert, key)


def credential_problem(cert: x509.Certificate, key: PrivateKeyTypes, ca: Ca, now: datetime.datetime) -> str | None:
    """Why this credential may not be used on the CA's environment, or None."""
    if not issued_by(cert, ca):
        return f"not issued by the {ca.environment} CA (a credential of another environment?)"
    if cert.not_valid_after_utc <= now:
        return f"certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}"
    if not same_key(cert, key):
        return "private key does not match the certificate"
    return None
