"""Every role's molecule scenario: create, converge, idempotence, verify, destroy (podman, testinfra).
The scenarios run in the background from the session's start (molecule_runs); every role's result is its
own test."""

import pytest

from tests.conftest import ROOT
from tests.integration.molecule_runs import ROLES, result


def test_every_role_has_a_scenario():
    assert {p.name for p in ROOT.glob("roles/*") if p.is_dir()} == set(ROLES)


@pytest.mark.molecule
@pytest.mark.parametrize("role", ROLES)
def test_molecule(role):
    proc = result(role)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    assert "idempotence: Executed: Successful" in proc.stdout + proc.stderr
