# The authentication service's token signing keys of one environment, kept on the control machine.
# Documentation only: the action plugin of the same name (plugins/action/token_signing_keys.py) does the work.
from __future__ import annotations

DOCUMENTATION = r"""
module: token_signing_keys
short_description: Keep an environment's access-token signing keys, rotated with an overlap
description:
  - Runs on the control machine. Keeps the RSA keys (3072 bits, vault-encrypted, mode 0600) with which the environment's
    authentication service signs access tokens (RS512) in O(directory), with their history in
    C(keys.json). The first key of RV(files) signs; every key in it is published in the JWKS.
  - O(rotate=true) makes a new key the signing key; the old one stays published for O(overlap_minutes),
    so that the tokens it signed (five minutes at most) still verify. A later run after the overlap
    removes it.
  - A key file that is missing, unreadable or not RSA fails the run, naming the file, with nothing changed.
options:
  directory: {description: "Where the keys are kept (for example .pki/prd2/token-signing).", type: path, required: true}
  rotate: {description: Make a new signing key now., type: bool, default: false}
  overlap_minutes:
    description: How long a rotated-out key stays published (token lifetime plus leeway, and some).
    type: int
    default: 10
extends_documentation_fragment: [kt2ops.platform.controller_secrets]
author: kt2ops
attributes:
  check_mode: {support: full, description: Says what would be created, rotated or removed; writes nothing.}
"""

EXAMPLES = r"""
- name: Token signing keys of prd2, rotated
  kt2ops.platform.token_signing_keys:
    directory: "{{ inventory_dir }}/.pki/prd2/token-signing"
    rotate: true
  delegate_to: localhost
"""

RETURN = r"""
files: {description: "Key files to publish, the signing key first.", returned: success, type: list, elements: str}
created: {description: Whether a new signing key was made (first run or rotation)., returned: success, type: bool}
removed: {description: Rotated-out keys removed after their overlap., returned: success, type: list, elements: str}
"""
