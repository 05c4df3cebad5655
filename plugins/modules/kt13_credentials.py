#!/usr/bin/python
# The KT 1.3 applications' own credentials (HTTP basic): issued and kept on the control machine.
from __future__ import annotations

DOCUMENTATION = r"""
module: kt13_credentials
short_description: Issue the KT 1.3 applications' passwords and give the verifiers the server registers
description:
  - Runs on the control machine. Every application gets a password of its own for the KT 1.3 server
    (a random 256-bit token, URL-safe base64), kept in O(directory)/<domain>/<application>.password with
    mode 0600 beside the environment's other secrets. An existing password is kept.
  - Returns per application the verifier the KT 1.3 server registers (C(sha256$<salt>$<digest>)), never
    the password, so the domain contract and its diff carry no secret.
  - In check mode nothing is written; new applications are listed in RV(issued) without a verifier.
options:
  directory: {description: Where the passwords are kept., type: path, required: true}
  applications:
    description: The applications, each with C(domain) and C(id).
    type: list
    elements: dict
    required: true
author: kt2ops
attributes:
  check_mode: {support: full, description: Lists what would be issued; writes nothing.}
  diff_mode: {support: none, description: A password is never shown.}
"""

EXAMPLES = r"""
- name: KT 1.3 credentials of the applications
  kt2ops.platform.kt13_credentials:
    directory: "{{ inventory_dir }}/.pki/kt13/apps"
    applications: [{domain: ggz-noorderlicht, id: noorderlicht-ecd}]
  delegate_to: localhost
"""

RETURN = r"""
issued: {description: Applications (domain/id) that got a new password., returned: always, type: list, elements: str}
verifiers:
  description: The verifier per application (domain/id) for the KT 1.3 server's domain configuration.
  returned: always
  type: dict
"""

import base64
import hashlib
import os
import secrets

from ansible.module_utils.basic import AnsibleModule


def verifier(domain, app_id, password):
    """SHA-256 of a salt and the password. The salt is derived from the application (stable, so the
    domain configuration does not change on every run, and distinct per application); the password is a
    random 256-bit token, so a slow password hash would protect nothing more."""
    salt = hashlib.sha256(f"kt13-credential:{domain}/{app_id}".encode()).hexdigest()[:32]
    return f"sha256${salt}${hashlib.sha256((salt + password).encode()).hexdigest()}"


def _write_new(path, password):
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")


def main():
    module = AnsibleModule(
        argument_spec={
            "directory": {"type": "path", "required": True},
            "applications": {"type": "list", "elements": "dict", "required": True},
        },
        supports_check_mode=True,
    )
    issued, verifiers = [], {}
    for app in module.params["applications"]:
        if not isinstance(app, dict) or not app.get("domain") or not app.get("id"):
            module.fail_json(msg=f"applications: each entry needs a domain and an id, got {app!r}")
        name = f"{app['domain']}/{app['id']}"
        path = os.path.join(module.params["directory"], app["domain"], f"{app['id']}.password")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                password = handle.read().strip()
            if not password:
                module.fail_json(msg=f"{path}: empty KT 1.3 password of application {name}; remove the file to "
                                     "issue a new one")
        else:
            issued.append(name)
            if module.check_mode:
                continue
            password = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
            _write_new(path, password)
        verifiers[name] = verifier(app["domain"], app["id"], password)
    module.exit_json(changed=bool(issued), issued=issued, verifiers=verifiers)


if __name__ == "__main__":
    main()
