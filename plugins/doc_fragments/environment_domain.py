# The options of an action that acts on one domain of one KT 2.0 environment as its applications would.
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  environment:
    description:
      - Environment id. Reached on the first host of its inventory group, with the keys in the inventory's PKI
        (kt2_pki_dir).
    type: str
    required: true
"""
