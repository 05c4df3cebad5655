# What the kt2ops actions that keep secrets on the control machine share in their documentation.
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  diff_mode:
    description: Returns no diff; a secret is never shown.
    support: none
  platform:
    description: Runs on the controller; secrets are stored vault-encrypted and opened only in memory.
    platforms: posix
  action:
    description: Implemented by the action plugin of the same name; this module file is its documentation.
    support: full
"""
