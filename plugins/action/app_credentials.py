# Per-environment application credentials: a key pair and a certificate from the environment's own CA,
# the keys vault-encrypted (kt2ops.pki), opened with the run's vault password.
from __future__ import annotations

import datetime
import os
from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops import pki

NOW = datetime.datetime.now(datetime.UTC)


class ActionModule(Kt2Action):
    def act(self, args, task_vars, result):
        env, check = args["environment"], self._task.check_mode
        ca = pki.load_ca(Path(args["ca_certificate"]), Path(args["ca_private_key"]), env)
        renew_at = NOW + datetime.timedelta(days=args["renew_before_days"])
        issued, renewed, public_keys, problems, writes = [], [], {}, [], []
        for app in args["applications"]:
            if not isinstance(app, dict) or not app.get("domain") or not app.get("id"):
                raise AnsibleActionFail(f"applications: each entry needs a domain and an id, got {app!r}")
            name = f"{app['domain']}/{app['id']}"
            base = Path(args["directory"], app["domain"], app["id"])
            key_path, cert_path = Path(f"{base}.key"), Path(f"{base}.crt")
            key = cert = None
            if key_path.exists() and cert_path.exists():
                try:
                    key, cert = pki.read_private_key(key_path), pki.read_certificate(cert_path)
                except pki.PkiError as error:
                    problems.append(str(error))
                    continue
                if args["renew"] and cert.not_valid_after_utc <= renew_at and pki.own_credential(cert, key, ca):
                    renewed.append(name)
                    cert = None if check else pki.issue_client_certificate(key, ca, app["domain"], app["id"],
                                                                           args["valid_days"], NOW)
            elif not key_path.exists() and not cert_path.exists():
                issued.append(name)
                if not check:
                    key = pki.new_key()
                    cert = pki.issue_client_certificate(key, ca, app["domain"], app["id"], args["valid_days"], NOW)
            else:
                problems.append(f"{base}: has a key or a certificate but not both")
                continue
            if cert is not None:
                problem = pki.credential_problem(cert, key, ca, NOW)
                if problem:
                    problems.append(f"{cert_path}: application {app['id']} of domain {app['domain']} on {env}: "
                                    f"{problem}")
                    continue
            if key is not None:
                public_keys[name] = pki.public_pem(key)
            if key is not None and cert is not None and (name in issued or name in renewed):
                writes.append((key_path, key if name in issued else None, cert_path, cert))
        if problems:
            return {**result, "failed": True, "msg": "application credentials refused: " + "; ".join(problems),
                    "problems": problems, "issued": [], "renewed": []}
        # Written only when every credential passed, so a refused run changes nothing.
        for key_path, key, cert_path, cert in writes:
            os.makedirs(key_path.parent, mode=0o700, exist_ok=True)
            if key is not None:
                pki.write_private_key(key_path, key)
            pki.write_certificate(cert_path, cert)
        return {**result, "changed": bool(issued or renewed), "issued": issued, "renewed": renewed,
                "public_keys": public_keys}
