#!/usr/bin/python
# The authentication service's token signing keys of one environment, kept on the control machine.
from __future__ import annotations

DOCUMENTATION = r"""
module: token_signing_keys
short_description: Keep an environment's access-token signing keys, rotated with an overlap
description:
  - Runs on the control machine. Keeps the RSA keys (3072 bits, mode 0600) with which the environment's
    authentication service signs access tokens (RS512) in O(directory), with their history in
    C(keys.json). The first key of RV(files) signs; every key in it is published in the JWKS.
  - O(rotate=true) makes a new key the signing key; the old one stays published for O(overlap_minutes),
    so that the tokens it signed (five minutes at most) still verify. A later run after the overlap
    removes it.
  - A key file that is missing, unreadable or not RSA fails the run, naming the file, with nothing changed.
options:
  directory: {description: "Where the keys are kept (for example .pki/prd2/token-signing).", type: path, required: true}
  rotate: {description: Make a new signing key now., type: bool, default: false}
  overlap_minutes:
    description: How long a rotated-out key stays published (token lifetime plus leeway, and some).
    type: int
    default: 10
author: kt2ops
attributes:
  check_mode: {support: full, description: Says what would be created, rotated or removed; writes nothing.}
  diff_mode: {support: none, description: Key material is never shown.}
"""

EXAMPLES = r"""
- name: Token signing keys of prd2, rotated
  kt2ops.platform.token_signing_keys:
    directory: "{{ inventory_dir }}/.pki/prd2/token-signing"
    rotate: true
  delegate_to: localhost
"""

RETURN = r"""
files: {description: "Key files to publish, the signing key first.", returned: success, type: list, elements: str}
created: {description: Whether a new signing key was made (first run or rotation)., returned: success, type: bool}
removed: {description: Rotated-out keys removed after their overlap., returned: success, type: list, elements: str}
"""

import datetime
import json
import os

from ansible.module_utils.basic import AnsibleModule

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError:  # reported by main()
    rsa = None

STATE = "keys.json"


def _load_state(module, directory):
    path = os.path.join(directory, STATE)
    if not os.path.exists(path):
        return []
    try:
        with open(path, encoding="utf-8") as handle:
            keys = json.load(handle)["keys"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        module.fail_json(msg=f"{path}: unreadable key history: {error}")
    for entry in keys:
        key_path = os.path.join(directory, entry["file"])
        try:
            with open(key_path, "rb") as handle:
                key = serialization.load_pem_private_key(handle.read(), password=None,
                                                         unsafe_skip_rsa_key_validation=True)
        except (OSError, ValueError) as error:
            module.fail_json(msg=f"{key_path}: token signing key unreadable: {error}")
        if not isinstance(key, rsa.RSAPrivateKey):
            module.fail_json(msg=f"{key_path}: a token signing key must be RSA (RS512)")
    return keys


def _write(path, data):
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(path + ".tmp", path)


def main():
    module = AnsibleModule(
        argument_spec={
            "directory": {"type": "path", "required": True},
            "rotate": {"type": "bool", "default": False},
            "overlap_minutes": {"type": "int", "default": 10},
        },
        supports_check_mode=True,
    )
    if rsa is None:
        module.fail_json(msg="the Python package 'cryptography' is required on the control machine")
    directory = module.params["directory"]
    now = datetime.datetime.now(datetime.UTC)
    keys = _load_state(module, directory)
    cutoff = now - datetime.timedelta(minutes=module.params["overlap_minutes"])
    removed = [k["file"] for k in keys[1:] if datetime.datetime.fromisoformat(k["retired"]) < cutoff]
    keys = [k for k in keys if k["file"] not in removed]
    create = not keys or module.params["rotate"]
    if create:
        if keys:
            keys[0] = {**keys[0], "retired": now.isoformat()}
        keys.insert(0, {"file": f"{now:%Y%m%dT%H%M%S%fZ}.key", "created": now.isoformat(), "retired": None})
    if (create or removed) and not module.check_mode:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if create:
            key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
            _write(os.path.join(directory, keys[0]["file"]), key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        _write(os.path.join(directory, STATE), json.dumps({"keys": keys}, indent=2).encode())
        for name in removed:
            os.unlink(os.path.join(directory, name))
    module.exit_json(changed=bool(create or removed), created=create, removed=removed,
                     files=[os.path.join(directory, k["file"]) for k in keys])


if __name__ == "__main__":
    main()
