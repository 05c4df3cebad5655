# Per-environment application credentials: a key pair and a certificate from the environment's own CA,
# the keys vault-encrypted (kt2ops.secrets), opened with the run's vault password.
from __future__ import annotations

import datetime
import os

from ansible.errors import AnsibleActionFail
from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from kt2ops.secrets import SecretError, read_secret, write_secret

NOW = datetime.datetime.now(datetime.UTC)


def _issue(key, ca_cert, ca_key, environment, domain, app_id, valid_days):
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, app_id),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, domain),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"Koppeltaal {environment}"),
    ])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(minutes=5))
        .not_valid_after(NOW + datetime.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _write_public(path, data):
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(path + ".tmp", path)


def _issued_by(cert, ca_cert):
    try:
        cert.verify_directly_issued_by(ca_cert)
    except Exception:  # InvalidSignature, or a different issuer name or key type: a foreign credential
        return False
    return True


def _problem(cert, key, ca_cert, env):
    """Why this credential may not be used on this environment, or None."""
    if not _issued_by(cert, ca_cert):
        return f"not issued by the {env} CA (a credential of another environment?)"
    if cert.not_valid_after_utc <= NOW:
        return f"certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}"
    if cert.public_key().public_numbers() != key.public_key().public_numbers():
        return "private key does not match the certificate"
    return None


class ActionModule(Kt2Action):
    def act(self, args, task_vars, result):
        env, check = args["environment"], self._task.check_mode
        try:
            with open(args["ca_certificate"], "rb") as handle:
                ca_cert = x509.load_pem_x509_certificate(handle.read())
            ca_key = serialization.load_pem_private_key(read_secret(args["ca_private_key"]), password=None)
        except (OSError, ValueError, SecretError) as error:
            raise AnsibleActionFail(f"{env}: cannot read the environment's CA: {error}") from None
        renew_at = NOW + datetime.timedelta(days=args["renew_before_days"])
        issued, renewed, public_keys, problems, writes = [], [], {}, [], []
        for app in args["applications"]:
            if not isinstance(app, dict) or not app.get("domain") or not app.get("id"):
                raise AnsibleActionFail(f"applications: each entry needs a domain and an id, got {app!r}")
            name = f"{app['domain']}/{app['id']}"
            base = os.path.join(args["directory"], app["domain"], app["id"])
            key_path, cert_path = base + ".key", base + ".crt"
            key = cert = None
            if os.path.exists(key_path) and os.path.exists(cert_path):
                try:
                    # Only the key's public half is used here; the full RSA check costs ~140 ms a key, the
                    # larger part of a provision run that changes nothing.
                    key = serialization.load_pem_private_key(read_secret(key_path), password=None,
                                                             unsafe_skip_rsa_key_validation=True)
                    with open(cert_path, "rb") as handle:
                        cert = x509.load_pem_x509_certificate(handle.read())
                except ValueError as error:
                    problems.append(f"{cert_path}: unreadable credential: {error}")
                    continue
                # Only our own credentials are renewed: a foreign one must fail, not be re-signed.
                own = (_issued_by(cert, ca_cert)
                       and cert.public_key().public_numbers() == key.public_key().public_numbers())
                if args["renew"] and cert.not_valid_after_utc <= renew_at and own:
                    renewed.append(name)
                    cert = None if check else _issue(key, ca_cert, ca_key, env, *name.split("/"), args["valid_days"])
            elif not os.path.exists(key_path) and not os.path.exists(cert_path):
                issued.append(name)
                if not check:
                    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
                    cert = _issue(key, ca_cert, ca_key, env, app["domain"], app["id"], args["valid_days"])
            else:
                problems.append(f"{base}: has a key or a certificate but not both")
                continue
            if cert is not None:
                problem = _problem(cert, key, ca_cert, env)
                if problem:
                    problems.append(f"{cert_path}: application {app['id']} of domain {app['domain']} on {env}: "
                                    f"{problem}")
                    continue
            if key is not None:
                public_keys[name] = key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
            if key is not None and cert is not None and (name in issued or name in renewed):
                writes.append((base, key if name in issued else None, cert))
        if problems:
            return {**result, "failed": True, "msg": "application credentials refused: " + "; ".join(problems),
                    "problems": problems, "issued": [], "renewed": []}
        # Written only when every credential passed, so a refused run changes nothing.
        for base, key, cert in writes:
            os.makedirs(os.path.dirname(base), mode=0o700, exist_ok=True)
            if key is not None:
                write_secret(base + ".key", key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
            _write_public(base + ".crt", cert.public_bytes(serialization.Encoding.PEM))
        return {**result, "changed": bool(issued or renewed), "issued": issued, "renewed": renewed,
                "public_keys": public_keys}
