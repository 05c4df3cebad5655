# Per-environment application credentials: a key pair and a certificate from the environment's own CA.
# Documentation only: the action plugin of the same name (plugins/action/app_credentials.py) does the work.
from __future__ import annotations

DOCUMENTATION = r"""
module: app_credentials
short_description: Issue, renew and verify the applications' key pairs of one environment
description:
  - Runs on the control machine. For every application gives a private key (RSA 3072, vault-encrypted, mode 0600) and a
    certificate signed by the environment's CA, in O(directory)/<domain>/<application>.key and C(.crt).
    The public key is what the environment's authentication service registers for the application, so a
    token request signed with the key of another environment is refused there.
  - Then verifies every credential, that is the certificate is signed by this environment's CA, not
    expired, and matches its key. A foreign or expired credential fails with the file named and
    nothing changed.
  - One call handles all applications of an environment (a loop of community.crypto tasks took
    seconds per application).
options:
  directory: {description: Where the credentials are kept., type: path, required: true}
  ca_certificate: {description: The environment's CA certificate., type: path, required: true}
  ca_private_key: {description: The environment's CA key., type: path, required: true}
  environment: {description: Environment id (certificate subject and messages)., type: str, required: true}
  applications:
    description: The applications, each with C(domain) and C(id).
    type: list
    elements: dict
    required: true
  renew:
    description: Re-issue certificates that expire within O(renew_before_days); when false they are only verified.
    type: bool
    default: true
  valid_days: {description: Validity of a new certificate., type: int, default: 397}
  renew_before_days: {description: Renewal window., type: int, default: 30}
extends_documentation_fragment: [kt2ops.platform.controller_secrets]
author: kt2ops
attributes:
  check_mode: {support: full, description: Says what would be issued or renewed; writes nothing.}
"""

EXAMPLES = r"""
- name: Application credentials of acc22
  kt2ops.platform.app_credentials:
    directory: "{{ inventory_dir }}/.pki/acc22/apps"
    ca_certificate: "{{ inventory_dir }}/.pki/acc22/ca.crt"
    ca_private_key: "{{ inventory_dir }}/.pki/acc22/ca.key"
    environment: acc22
    applications: [{domain: ggz-noorderlicht, id: noorderlicht-ecd}]
  delegate_to: localhost
"""

RETURN = r"""
issued: {description: Applications (domain/id) that got a new key pair and certificate., returned: always, type: list}
renewed: {description: Applications whose certificate was re-issued., returned: always, type: list}
public_keys:
  description: Public key (PEM) per application (domain/id).
  returned: always
  type: dict
"""
