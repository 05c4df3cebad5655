#!/usr/bin/python
# Appendix B.2 on the receiving side: verify delivered data packages against their manifests, on the host.
from __future__ import annotations

DOCUMENTATION = r"""
module: package_verify
short_description: Verify data packages where they arrived and record the result beside each
description:
  - For every C(*.tar.age) package under C(path) (a transfer area), computes its SHA-256 on the host and
    compares it with the manifest delivered beside it (C(<name>.manifest.json), written by
    C(kt2 package seal)); records the result in C(<name>.verified.json) (ok, sha256, problems, when, where).
  - A package without a manifest, or whose bytes differ from it, is recorded as failed and fails the task
    naming every such package. A record that already states the same result for the same bytes is left
    alone, so a second run changes nothing. Check mode reports what would be recorded.
options:
  path: {description: The directory packages arrive in., type: path, required: true}
author: kt2ops
"""

EXAMPLES = r"""
- name: Verify what arrived over SFTP
  kt2ops.platform.package_verify:
    path: /srv/kt2ops/transfer/incoming
"""

RETURN = r"""
packages: {description: Per package its path, ok and problems., returned: always, type: list}
"""

import hashlib
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

SUFFIX = ".tar.age"


def sha256(path):
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def judge(package):
    stem = package.name[: -len(SUFFIX)]
    actual = sha256(package)
    manifest = read_json(package.with_name(stem + ".manifest.json"))
    if manifest is None:
        problems = [f"{package}: no readable manifest {stem}.manifest.json beside it"]
    elif manifest.get("encrypted", {}).get("sha256") != actual:
        problems = [f"{package}: SHA-256 {actual} differs from the manifest's {manifest['encrypted'].get('sha256')}"]
    else:
        problems = []
    return {"package": package.name, "ok": not problems, "sha256": actual, "problems": problems}


def main():
    module = AnsibleModule(argument_spec={"path": {"type": "path", "required": True}}, supports_check_mode=True)
    area = Path(module.params["path"])
    if not area.is_dir():
        module.fail_json(msg=f"{area}: no such directory (the transfer area)")
    results, changed, failed = [], False, []
    for package in sorted(area.rglob("*" + SUFFIX)):
        verdict = judge(package)
        record_path = package.with_name(package.name[: -len(SUFFIX)] + ".verified.json")
        before = read_json(record_path) or {}
        if {k: before.get(k) for k in verdict} != verdict:
            changed = True
            if not module.check_mode:
                record = {**verdict, "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
                          "checked_on": socket.getfqdn()}
                tmp = record_path.with_suffix(".tmp")
                tmp.write_text(json.dumps(record, indent=2) + "\n")
                os.chmod(tmp, 0o640)
                os.replace(tmp, record_path)
        results.append({"path": str(package), "ok": verdict["ok"], "problems": verdict["problems"]})
        failed += verdict["problems"]
    if failed:
        module.fail_json(msg="; ".join(failed), packages=results, changed=changed)
    module.exit_json(changed=changed, packages=results)


if __name__ == "__main__":
    main()
