"""Every role's molecule scenario: create, converge, idempotence, verify, destroy (podman, testinfra)."""

import os

import pytest

from tests.conftest import ROOT, run

ROLES = sorted(p.parents[2].name for p in ROOT.glob("roles/*/molecule/default/molecule.yml"))


def test_every_role_has_a_scenario():
    assert {p.name for p in ROOT.glob("roles/*") if p.is_dir()} == set(ROLES)


@pytest.mark.molecule
@pytest.mark.parametrize("role", ROLES)
def test_molecule(role):
    env = {"PATH": f"{ROOT / '.venv/bin'}:{os.environ['PATH']}", "PY_COLORS": "0", "ANSIBLE_FORCE_COLOR": "0"}
    proc = run("bash", "-c", f"cd roles/{role} && molecule test", env=env, check=False, timeout=1200)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    assert "idempotence: Executed: Successful" in proc.stdout + proc.stderr
