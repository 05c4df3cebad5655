# The authentication service's token signing keys of one environment, vault-encrypted on the control machine.
from __future__ import annotations

import datetime
import json
import os

from ansible.errors import AnsibleActionFail
from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action
from cryptography.hazmat.primitives.asymmetric import rsa

from kt2ops import pki

STATE = "keys.json"


def _load_state(directory):
    path = os.path.join(directory, STATE)
    if not os.path.exists(path):
        return []
    try:
        with open(path, encoding="utf-8") as handle:
            keys = json.load(handle)["keys"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise AnsibleActionFail(f"{path}: unreadable key history: {error}") from None
    for entry in keys:
        key_path = os.path.join(directory, entry["file"])
        key = pki.read_private_key(key_path)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise AnsibleActionFail(f"{key_path}: a token signing key must be RSA (RS512)")
    return keys


class ActionModule(Kt2Action):
    def act(self, args, task_vars, result):
        directory = args["directory"]
        now = datetime.datetime.now(datetime.UTC)
        keys = _load_state(directory)
        cutoff = now - datetime.timedelta(minutes=args["overlap_minutes"])
        removed = [k["file"] for k in keys[1:] if datetime.datetime.fromisoformat(k["retired"]) < cutoff]
        keys = [k for k in keys if k["file"] not in removed]
        create = not keys or args["rotate"]
        if create:
            if keys:
                keys[0] = {**keys[0], "retired": now.isoformat()}
            keys.insert(0, {"file": f"{now:%Y%m%dT%H%M%S%fZ}.key", "created": now.isoformat(), "retired": None})
        if (create or removed) and not self._task.check_mode:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            if create:
                pki.write_private_key(os.path.join(directory, keys[0]["file"]), pki.new_key())
            state = os.path.join(directory, STATE)
            with open(state + ".tmp", "w", encoding="utf-8") as handle:
                json.dump({"keys": keys}, handle, indent=2)
            os.replace(state + ".tmp", state)
            for name in removed:
                os.unlink(os.path.join(directory, name))
        return {**result, "changed": bool(create or removed), "created": create, "removed": removed,
                "files": [os.path.join(directory, k["file"]) for k in keys]}
