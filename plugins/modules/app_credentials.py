#!/usr/bin/python
# Per-environment application credentials: a key pair and a certificate from the environment's own CA.
from __future__ import annotations

DOCUMENTATION = r"""
module: app_credentials
short_description: Issue, renew and verify the applications' key pairs of one environment
description:
  - Runs on the control machine. For every application gives a private key (RSA 3072, mode 0600) and a
    certificate signed by the environment's CA, in O(directory)/<domain>/<application>.key and C(.crt).
    The public key is what the environment's resource service registers for the application, so a
    token request signed with the key of another environment is refused there.
  - Then verifies every credential, that is the certificate is signed by this environment's CA, not
    expired, and matches its key. A foreign or expired credential fails with the file named and
    nothing changed.
  - One call handles all applications of an environment (a loop of community.crypto tasks took
    seconds per application).
options:
  directory: {description: Where the credentials are kept., type: path, required: true}
  ca_certificate: {description: The environment's CA certificate., type: path, required: true}
  ca_private_key: {description: The environment's CA key., type: path, required: true}
  environment: {description: Environment id (certificate subject and messages)., type: str, required: true}
  applications:
    description: The applications, each with C(domain) and C(id).
    type: list
    elements: dict
    required: true
  renew:
    description: Re-issue certificates that expire within O(renew_before_days); when false they are only verified.
    type: bool
    default: true
  valid_days: {description: Validity of a new certificate., type: int, default: 397}
  renew_before_days: {description: Renewal window., type: int, default: 30}
author: kt2ops
"""

EXAMPLES = r"""
- name: Application credentials of acc22
  kt2ops.platform.app_credentials:
    directory: "{{ inventory_dir }}/.pki/acc22/apps"
    ca_certificate: "{{ inventory_dir }}/.pki/acc22/ca.crt"
    ca_private_key: "{{ inventory_dir }}/.pki/acc22/ca.key"
    environment: acc22
    applications: [{domain: ggz-noorderlicht, id: noorderlicht-ecd}]
  delegate_to: localhost
"""

RETURN = r"""
issued: {description: Applications (domain/id) that got a new key pair and certificate., returned: always, type: list}
renewed: {description: Applications whose certificate was re-issued., returned: always, type: list}
public_keys:
  description: Public key (PEM) per application (domain/id).
  returned: always
  type: dict
"""

import datetime
import os

from ansible.module_utils.basic import AnsibleModule

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
except ImportError:  # reported by main()
    x509 = None

NOW = datetime.datetime.now(datetime.UTC)


def _load_ca(module):
    try:
        with open(module.params["ca_certificate"], "rb") as handle:
            ca_cert = x509.load_pem_x509_certificate(handle.read())
        with open(module.params["ca_private_key"], "rb") as handle:
            ca_key = serialization.load_pem_private_key(handle.read(), password=None)
    except (OSError, ValueError) as error:
        module.fail_json(msg=f"{module.params['environment']}: cannot read the environment's CA: {error}")
    return ca_cert, ca_key


def _issue(module, key, ca_cert, ca_key, domain, app_id):
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, app_id),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, domain),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"Koppeltaal {module.params['environment']}"),
    ])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(minutes=5))
        .not_valid_after(NOW + datetime.timedelta(days=module.params["valid_days"]))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _write(path, data, mode):
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path + ".tmp", mode)
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


def main():
    module = AnsibleModule(
        argument_spec={
            "directory": {"type": "path", "required": True},
            "ca_certificate": {"type": "path", "required": True},
            "ca_private_key": {"type": "path", "required": True, "no_log": False},
            "environment": {"type": "str", "required": True},
            "applications": {"type": "list", "elements": "dict", "required": True},
            "renew": {"type": "bool", "default": True},
            "valid_days": {"type": "int", "default": 397},
            "renew_before_days": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    if x509 is None:
        module.fail_json(msg="the Python package 'cryptography' is required on the control machine")
    params = module.params
    env = params["environment"]
    ca_cert, ca_key = _load_ca(module)
    renew_at = NOW + datetime.timedelta(days=params["renew_before_days"])
    issued, renewed, public_keys, problems, writes = [], [], {}, [], []
    for app in params["applications"]:
        if not isinstance(app, dict) or not app.get("domain") or not app.get("id"):
            module.fail_json(msg=f"applications: each entry needs a domain and an id, got {app!r}")
        name = f"{app['domain']}/{app['id']}"
        base = os.path.join(params["directory"], app["domain"], app["id"])
        key_path, cert_path = base + ".key", base + ".crt"
        key = cert = None
        if os.path.exists(key_path) and os.path.exists(cert_path):
            try:
                with open(key_path, "rb") as handle:
                    # Only the key's public half is used here; the full RSA check costs ~140 ms a key, the
                    # larger part of a provision run that changes nothing.
                    key = serialization.load_pem_private_key(handle.read(), password=None,
                                                             unsafe_skip_rsa_key_validation=True)
                with open(cert_path, "rb") as handle:
                    cert = x509.load_pem_x509_certificate(handle.read())
            except ValueError as error:
                problems.append(f"{cert_path}: unreadable credential: {error}")
                continue
            # Only our own credentials are renewed: a foreign one must fail, not be re-signed.
            own = _issued_by(cert, ca_cert) and cert.public_key().public_numbers() == key.public_key().public_numbers()
            if params["renew"] and cert.not_valid_after_utc <= renew_at and own:
                renewed.append(name)
                cert = None if module.check_mode else _issue(module, key, ca_cert, ca_key, *name.split("/"))
        elif not os.path.exists(key_path) and not os.path.exists(cert_path):
            issued.append(name)
            if not module.check_mode:
                key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
                cert = _issue(module, key, ca_cert, ca_key, app["domain"], app["id"])
        else:
            problems.append(f"{base}: has a key or a certificate but not both")
            continue
        if cert is not None:
            problem = _problem(cert, key, ca_cert, env)
            if problem:
                problems.append(f"{cert_path}: application {app['id']} of domain {app['domain']} on {env}: {problem}")
                continue
        if key is not None:
            public_keys[name] = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        if key is not None and cert is not None and (name in issued or name in renewed):
            writes.append((base, key if name in issued else None, cert))
    if problems:
        module.fail_json(msg="application credentials refused: " + "; ".join(problems), problems=problems,
                         issued=[], renewed=[])
    # Written only when every credential passed, so a refused run changes nothing.
    for base, key, cert in writes:
        os.makedirs(os.path.dirname(base), mode=0o700, exist_ok=True)
        if key is not None:
            _write(base + ".key", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()), 0o600)
        _write(base + ".crt", cert.public_bytes(serialization.Encoding.PEM), 0o644)
    module.exit_json(changed=bool(issued or renewed), issued=issued, renewed=renewed, public_keys=public_keys)


if __name__ == "__main__":
    main()
