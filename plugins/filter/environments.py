# Environment separation (appendix B.5) computed from the inventory: see kt2ops.security.separation.
from __future__ import annotations

DOCUMENTATION = r"""
name: other_environment_networks
short_description: The networks of every other environment
description:
  - From the kt2_env facts of every environment, the networks of all but the given one (for the
    firewall of appendix B.5). Companion filter C(foreign_references) lists where a host's service
    configuration names another environment's host name or an address in its network.
options:
  _input: {description: The kt2_env of every environment., type: list, required: true}
  own: {description: This environment's id., type: str, required: true}
"""

from kt2ops.security.separation import foreign_references, other_networks


def other_environment_networks(environments, own):
    return other_networks(environments, own)


class FilterModule:
    def filters(self):
        return {"other_environment_networks": other_environment_networks, "foreign_references": foreign_references}
