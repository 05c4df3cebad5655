"""Every role's molecule scenario: create, converge, idempotence, verify, destroy (podman, testinfra).
The scenarios run four at a time (each in its own container); every role's result is its own test."""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import ROOT, run

ROLES = sorted(p.parents[2].name for p in ROOT.glob("roles/*/molecule/default/molecule.yml"))
PARALLEL = 4


def test_every_role_has_a_scenario():
    assert {p.name for p in ROOT.glob("roles/*") if p.is_dir()} == set(ROLES)


def _molecule(role: str):
    env = {"PATH": f"{ROOT / '.venv/bin'}:{os.environ['PATH']}", "PY_COLORS": "0", "ANSIBLE_FORCE_COLOR": "0"}
    return run("bash", "-c", f"cd roles/{role} && molecule test", env=env, check=False, timeout=1500)


@pytest.fixture(scope="module")
def scenarios():
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return dict(zip(ROLES, pool.map(_molecule, ROLES), strict=True))


@pytest.mark.molecule
@pytest.mark.parametrize("role", ROLES)
def test_molecule(scenarios, role):
    proc = scenarios[role]
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    assert "idempotence: Executed: Successful" in proc.stdout + proc.stderr
