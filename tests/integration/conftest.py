import json

import pytest

from tests.conftest import run


@pytest.fixture(scope="session")
def lab():
    """The lab, up (idempotent), as `kt2 lab status --json` describes it."""
    run(".venv/bin/kt2", "lab", "up")
    return json.loads(run(".venv/bin/kt2", "lab", "status", "--json").stdout)


@pytest.fixture(scope="session")
def provisioned(lab):
    """The lab after playbooks/site.yml and playbooks/provision.yml."""
    for book in ("playbooks/site.yml", "playbooks/provision.yml"):
        proc = playbook(book)
        assert proc.returncode == 0, proc.stdout[-3000:]
    return lab


def playbook(*args: str, env: dict | None = None):
    return run(".venv/bin/ansible-playbook", *args, env=env, check=False)


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counts per host."""
    counts = {}
    in_recap = False
    for line in output.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if in_recap and ":" in line and "=" in line:
            host, rest = line.split(":", 1)
            counts[host.strip()] = {k: int(v) for k, v in (p.split("=") for p in rest.split())}
    return counts
