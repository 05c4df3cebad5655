# A secret stored vault-encrypted on the control machine.
# Documentation only: the action plugin of the same name (plugins/action/secret_file.py) does the work.
from __future__ import annotations

DOCUMENTATION = r"""
module: secret_file
short_description: Store a secret vault-encrypted on the control machine, changed only when it differs
description:
  - Writes O(content) to O(path) in Ansible Vault format (mode 0600, directories 0700), encrypted with the
    run's vault password, so that C(ansible-vault view) opens it and Ansible's C(file) lookup and C(copy)
    module read it back. Nothing is decrypted to disk.
  - Unchanged when the file already opens to O(content) (trailing newlines do not count; the file is
    written with one); a plain-text file with the same content is encrypted where it lies.
  - Without a vault password the task fails naming the file and the password source to set.
options:
  path: {description: Where the secret is kept on the control machine., type: path, required: true}
  content: {description: The secret (for example a private key in PEM)., type: str, required: true, no_log: true}
extends_documentation_fragment: [kt2ops.platform.controller_secrets]
author: kt2ops
attributes:
  check_mode: {support: full, description: Says whether the file would be written; writes nothing.}
"""

EXAMPLES = r"""
- name: Store the CA key, made by community.crypto.openssl_privatekey_pipe, vault-encrypted
  kt2ops.platform.secret_file:
    path: "{{ inventory_dir }}/.pki/acc22/ca.key"
    content: "{{ ca_key.privatekey }}"
  delegate_to: localhost
"""

RETURN = r"""
path: {description: The file written or found up to date., returned: success, type: str}
"""
