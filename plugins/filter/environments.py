# Environment separation (appendix B.5) computed from the inventory: see kt2ops.security.separation.
# Each filter's documentation is the YAML file of its name beside this one.
from __future__ import annotations

from kt2ops.security.separation import foreign_references, other_networks


def other_environment_networks(environments, own):
    return other_networks(environments, own)


class FilterModule:
    def filters(self):
        return {"other_environment_networks": other_environment_networks, "foreign_references": foreign_references}
