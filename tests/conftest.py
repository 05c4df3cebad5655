import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAB_INVENTORY = ROOT / "inventories" / "lab"


def run(*args: str, check: bool = True, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run a command from the project root with the project's Ansible configuration."""
    full_env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1", **(env or {})}
    # Each command gets a /dev/null of its own: on a shared stdin one command (e.g. a killed ansible-playbook)
    # can leave O_NONBLOCK set for all, and ansible-playbook refuses to start on it ("requires blocking IO").
    proc = subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True, env=full_env, timeout=timeout,
                          check=False, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture
def inventory_copy(tmp_path: Path) -> Path:
    """A private copy of the lab inventory (without the lab's generated files) to break at will."""
    target = tmp_path / "lab"
    shutil.copytree(LAB_INVENTORY, target, ignore=shutil.ignore_patterns(".lab", "zz_lab_connection.yml"))
    return target
