# Appendix B.6 before a deploy: an environment's CA, certificates and keys must be its own.
from __future__ import annotations

DOCUMENTATION = r"""
name: shared_pki
short_description: What of an environment's PKI another environment uses too
description:
  - Reads the certificates under the PKI directory on the control machine (one directory per
    environment) and returns one message for each CA, certificate, key or subject name of the given
    environment that another environment has as well; empty when all of it is its own. Judged by the
    B.6 policy of C(kt2 comply) (policies/b6_certificates.rego).
options:
  _terms: {description: "The PKI directory and the environment id.", required: true}
"""

EXAMPLES = r"""
- name: Stop before a deploy when the environment's PKI is not its own (B.6)
  ansible.builtin.assert:
    that: kt2_pki_shared | length == 0
    fail_msg: "{{ kt2_pki_shared | join('; ') }}"
  vars:
    kt2_pki_shared: "{{ query('kt2ops.platform.shared_pki', inventory_dir + '/.pki', 'prd2') }}"
"""

RETURN = r"""
_raw:
  description: One message per CA, certificate, key or subject name the environment shares with another.
  type: list
  elements: str
"""

from pathlib import Path

from ansible.plugins.lookup import LookupBase

from kt2ops.comply.evaluate import shared_pki


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        pki_dir, environment = terms
        return shared_pki(Path(pki_dir), environment)
