# The options of an action that acts on one domain of one KT 2.0 environment as its applications would.
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  domain: {description: KT 2.0 domain id., type: str, required: true}
  environment: {description: Environment id., type: str, required: true}
  environment_host: {description: Inventory host of the environment., type: str, required: true}
  pki_dir: {description: "The control machine's PKI directory (CA and application keys per environment).", type: path,
            required: true}
"""
