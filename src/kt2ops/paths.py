"""Where the project's files are."""

from __future__ import annotations

import os
from pathlib import Path

# The package is installed editable from the repository (README set-up), so the project root is two
# levels above src/kt2ops. KT2OPS_HOME overrides it for an installed copy.
PROJECT_ROOT = Path(os.environ.get("KT2OPS_HOME", Path(__file__).resolve().parents[2]))
ANSIBLE_CFG = PROJECT_ROOT / "ansible.cfg"
LAB_INVENTORY = PROJECT_ROOT / "inventories" / "lab"
SCHEMAS = Path(__file__).resolve().parent / "schemas"


def ansible_env() -> dict[str, str]:
    """The environment for an ansible-* command run by kt2: the project's own configuration, and none of
    Ansible's deprecation warnings (about the strategy shim and the collections': for the maintainers, who see
    them running ansible-playbook themselves and in the tests, not for an operator in a production window)."""
    env = dict(os.environ)
    env.setdefault("ANSIBLE_CONFIG", str(ANSIBLE_CFG))
    env.setdefault("ANSIBLE_DEPRECATION_WARNINGS", "False")
    return env
