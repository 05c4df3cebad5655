# The KT 1.3 applications' own credentials (HTTP basic): issued and kept on the control machine.
# Documentation only: the action plugin of the same name (plugins/action/kt13_credentials.py) does the work.
from __future__ import annotations

DOCUMENTATION = r"""
module: kt13_credentials
short_description: Issue the KT 1.3 applications' passwords and give the verifiers the server registers
description:
  - Runs on the control machine. Every application gets a password of its own for the KT 1.3 server
    (a random 256-bit token, URL-safe base64), kept in O(directory)/<domain>/<application>.password with
    vault-encrypted, mode 0600 beside the environment's other secrets. An existing password is kept.
  - Returns per application the verifier the KT 1.3 server registers (C(sha256$<salt>$<digest>)), never
    the password, so the domain contract and its diff carry no secret.
  - In check mode nothing is written; new applications are listed in RV(issued) without a verifier.
options:
  directory: {description: Where the passwords are kept., type: path, required: true}
  applications:
    description: The applications, each with C(domain) and C(id).
    type: list
    elements: dict
    required: true
extends_documentation_fragment: [kt2ops.platform.controller_secrets]
author: kt2ops
attributes:
  check_mode: {support: full, description: Lists what would be issued; writes nothing.}
"""

EXAMPLES = r"""
- name: KT 1.3 credentials of the applications
  kt2ops.platform.kt13_credentials:
    directory: "{{ inventory_dir }}/.pki/kt13/apps"
    applications: [{domain: ggz-noorderlicht, id: noorderlicht-ecd}]
  delegate_to: localhost
"""

RETURN = r"""
issued: {description: Applications (domain/id) that got a new password., returned: always, type: list, elements: str}
verifiers:
  description: The verifier per application (domain/id) for the KT 1.3 server's domain configuration.
  returned: always
  type: dict
"""
