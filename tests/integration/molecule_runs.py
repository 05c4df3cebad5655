"""Every role's molecule scenario, run in the background for the whole session: the lab tests leave
about half of the 2 cores idle (they wait on hosts, SSH and services), so the scenarios start when the
session starts, at the lowest CPU priority (nice 19, inherited by podman, conmon and the containers),
and take only what the lab tests leave. test_95_molecule collects the results at the end."""

import os
from concurrent.futures import Future, ThreadPoolExecutor

from tests.conftest import ROOT, run

ROLES = sorted(p.parents[2].name for p in ROOT.glob("roles/*/molecule/default/molecule.yml"))
PARALLEL = 4
_pool = ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="molecule")
_runs: dict[str, Future] = {}


def _molecule(role: str):
    env = {"PATH": f"{ROOT / '.venv/bin'}:{os.environ['PATH']}", "PY_COLORS": "0", "ANSIBLE_FORCE_COLOR": "0"}
    return run("nice", "-n", "19", "bash", "-c", f"cd roles/{role} && molecule test", env=env, check=False,
               timeout=3000)


def start(roles: list[str]) -> None:
    for role in roles:
        if role not in _runs:
            _runs[role] = _pool.submit(_molecule, role)


def result(role: str):
    start([role])
    return _runs[role].result()


def stop() -> None:
    _pool.shutdown(wait=False, cancel_futures=True)
