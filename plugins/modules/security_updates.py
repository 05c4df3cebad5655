#!/usr/bin/python
# Pending Debian security updates: report them, or apply them (appendix B.10, patched machines).
from __future__ import annotations

DOCUMENTATION = r"""
module: security_updates
short_description: Report or apply pending Debian security updates
description:
  - Lists the installed packages whose candidate version comes from a security archive
    (origin C(*-security)), and with O(state=applied) upgrades exactly those.
  - A package held back (C(apt-mark hold)) is listed too, marked C(held), as it stays unpatched; it is
    not upgraded (the hold is the operator's decision) and a warning names it.
  - Check mode reports what would be upgraded. The package lists are refreshed in check mode too
    (metadata only), so the report is truthful.
options:
  state:
    description: V(applied) upgrades the pending security updates; V(reported) only lists them.
    type: str
    choices: [applied, reported]
    default: applied
  update_cache:
    description: Refresh the package lists first when they are older than O(cache_valid_time).
    type: bool
    default: true
  cache_valid_time:
    description: Seconds the package lists count as fresh.
    type: int
    default: 3600
author: kt2ops
"""

EXAMPLES = r"""
- name: Apply pending security updates
  kt2ops.platform.security_updates:
    state: applied
"""

RETURN = r"""
pending:
  description: Security updates that were pending before this run.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Package name, type: str}
    installed: {description: Installed version, type: str}
    candidate: {description: Version offered by the security archive, type: str}
    origin: {description: Archive(s) offering the candidate, type: str}
    held: {description: Whether the package is held back (apt-mark hold), type: bool}
cache_updated:
  description: Whether the package lists were refreshed.
  returned: always
  type: bool
"""

import glob
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule

# Inst openssl [3.0.15-1~deb12u1] (3.0.17-1~deb12u3 Debian-Security:12/stable-security [amd64])
_INST = re.compile(r"^Inst (?P<name>\S+) \[(?P<installed>[^\]]+)\] \((?P<candidate>\S+) (?P<origin>.+) \[[^\]]+\]\)")
_ENV = {"LANG": "C", "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"}


def lists_age():
    stamps = [os.path.getmtime(p) for p in glob.glob("/var/lib/apt/lists/*Release")]
    return time.time() - max(stamps) if stamps else float("inf")


def pending_security_updates(module):
    rc, held, err = module.run_command(["apt-mark", "showhold"], environ_update=_ENV)
    if rc != 0:
        module.fail_json(msg=f"apt-mark showhold failed: {err.strip()}")
    # Ignoring holds in the simulation shows what a hold keeps back too.
    rc, out, err = module.run_command(
        ["apt-get", "-s", "-q", "-o", "Debug::NoLocking=1", "-o", "APT::Ignore-Hold=true", "dist-upgrade"],
        environ_update=_ENV,
    )
    if rc != 0:
        module.fail_json(msg=f"apt-get -s dist-upgrade failed: {err.strip()}")
    pending = []
    for line in out.splitlines():
        match = _INST.match(line)
        if match and "-security" in match["origin"]:
            pending.append({**match.groupdict(), "held": match["name"] in held.split()})
    return pending


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["applied", "reported"], "default": "applied"},
            "update_cache": {"type": "bool", "default": True},
            "cache_valid_time": {"type": "int", "default": 3600},
        },
        supports_check_mode=True,
    )
    cache_updated = False
    if module.params["update_cache"] and lists_age() > module.params["cache_valid_time"]:
        rc, _out, err = module.run_command(["apt-get", "-q", "update"], environ_update=_ENV)
        if rc != 0:
            module.fail_json(msg=f"apt-get update failed: {err.strip()}")
        cache_updated = True

    pending = pending_security_updates(module)
    held = [p["name"] for p in pending if p["held"]]
    if held:
        module.warn("security updates held back (apt-mark hold), left unpatched: " + ", ".join(held))
    upgrades = [p for p in pending if not p["held"]]
    result = {"pending": pending, "cache_updated": cache_updated,
              "changed": bool(upgrades) and module.params["state"] == "applied"}
    if result["changed"] and module._diff:
        result["diff"] = {
            "before": "".join(f"{p['name']} {p['installed']}\n" for p in upgrades),
            "after": "".join(f"{p['name']} {p['candidate']}\n" for p in upgrades),
        }
    if not result["changed"] or module.check_mode:
        module.exit_json(**result)

    rc, _out, err = module.run_command(
        ["apt-get", "-q", "-y", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
         "install", "--only-upgrade", *[p["name"] for p in upgrades]],
        environ_update=_ENV,
    )
    if rc != 0:
        module.fail_json(msg=f"applying security updates failed: {err.strip()}", **result)
    left = [p for p in pending_security_updates(module) if not p["held"]]
    if left:
        module.fail_json(msg="security updates still pending after the upgrade: "
                             + ", ".join(p["name"] for p in left), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
