"""Whether an inventory's provisioning (site, provision, security) must run again: a fingerprint of what
those playbooks read (the inventory, its secrets and lab connection, the playbooks, roles, plugins, the
reference services' sources) recorded when they last passed. A resumed journey skips them when nothing
changed; a recreated lab (new host keys), an edited domain file or a changed role runs them again."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from kt2ops.artifact import NAMES as ARTIFACTS
from kt2ops.artifact import source_hash
from kt2ops.paths import PROJECT_ROOT
from kt2ops.runbook.state import runbook_dir

CODE = ("playbooks", "roles", "plugins", "src/kt2ops", "ansible.cfg")
NOT_INPUT = {".runbook", "__pycache__", ".pytest_cache"}
RECORD = "provisioned.json"


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and not NOT_INPUT & set(p.relative_to(root).parts))


def fingerprint(inventory: Path) -> str:
    digest = hashlib.sha256("".join(source_hash(name) for name in ARTIFACTS).encode())
    for base, root in [(inventory, inventory), *((PROJECT_ROOT, PROJECT_ROOT / part) for part in CODE)]:
        for path in _files(root):
            digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def unchanged_since_passed(inventory: Path) -> str | None:
    """When provisioning last passed, if its inputs are the same now; otherwise None."""
    record = runbook_dir(inventory) / RECORD
    if not record.exists():
        return None
    passed = json.loads(record.read_text())
    return passed["at"] if passed["fingerprint"] == fingerprint(inventory) else None


def record_passed(inventory: Path) -> None:
    record = runbook_dir(inventory) / RECORD
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"fingerprint": fingerprint(inventory),
                                  "at": datetime.now(UTC).isoformat(timespec="seconds")}) + "\n")
