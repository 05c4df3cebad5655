# The KT 1.3 applications' own credentials (HTTP basic): issued and kept vault-encrypted on the control machine.
from __future__ import annotations

import base64
import hashlib
import os
import secrets

from ansible.errors import AnsibleActionFail
from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops.secrets import read_secret, write_secret


def verifier(domain, app_id, password):
    """SHA-256 of a salt and the password. The salt is derived from the application (stable, so the
    domain configuration does not change on every run, and distinct per application); the password is a
    random 256-bit token, so a slow password hash would protect nothing more."""
    salt = hashlib.sha256(f"kt13-credential:{domain}/{app_id}".encode()).hexdigest()[:32]
    return f"sha256${salt}${hashlib.sha256((salt + password).encode()).hexdigest()}"


class ActionModule(Kt2Action):
    def act(self, args, task_vars, result):
        issued, verifiers = [], {}
        for app in args["applications"]:
            if not isinstance(app, dict) or not app.get("domain") or not app.get("id"):
                raise AnsibleActionFail(f"applications: each entry needs a domain and an id, got {app!r}")
            name = f"{app['domain']}/{app['id']}"
            path = os.path.join(args["directory"], app["domain"], f"{app['id']}.password")
            if os.path.exists(path):
                password = read_secret(path).decode().strip()
                if not password:
                    raise AnsibleActionFail(f"{path}: empty KT 1.3 password of application {name}; remove the "
                                            "file to issue a new one")
            else:
                issued.append(name)
                if self._task.check_mode:
                    continue
                password = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
                write_secret(path, (password + "\n").encode(), exclusive=True)
            verifiers[name] = verifier(app["domain"], app["id"], password)
        return {**result, "changed": bool(issued), "issued": issued, "verifiers": verifiers}
