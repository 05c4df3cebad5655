# What every kt2ops runbook action shares in its documentation: it runs on the controller, once.
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Runs in check mode and says whether it would change anything, changing nothing.
    support: full
  diff_mode:
    description: Returns no diff; the result's message and figures say what changed.
    support: none
  platform:
    description: Runs on the controller, reaching hosts over SSH or HTTPS itself.
    platforms: posix
  action:
    description: Implemented by the action plugin of the same name; this module file is its documentation.
    support: full
  async:
    description: Long steps print progress and end with the ansible-playbook that runs them instead.
    support: none
"""
