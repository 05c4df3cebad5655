# The inventory's domain files, validated: a playbook acts on none of them when any is invalid.
from __future__ import annotations

DOCUMENTATION = r"""
name: domains
short_description: The validated domain files of an inventory
description:
  - Runs the same checks as C(kt2 inventory check) (JSON Schema and cross-file checks) on the inventory
    directory and returns the contents of every domain file, each with its path in C(_file).
  - Any error fails the lookup with every finding (file, line, field and message), before a play changes
    anything.
  - A domain whose runbook step S.5 (remove the KT 1.3 domain) is done in the inventory's audit trail comes
    back with C(kt13.state=absent), so that provisioning does not create it on KT 1.3 again.
options:
  _terms:
    description: The inventory directory.
    required: true
  removed_from_kt13:
    description:
      - Domain ids that are off KT 1.3 already though the audit trail does not say so yet, because the run
        of S.5 that removed them is still going (it applies what provisioning now declares).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Load the domains once
  ansible.builtin.set_fact:
    kt2_domains: "{{ query('kt2ops.platform.domains', inventory_dir) }}"
  run_once: true
"""

RETURN = r"""
_raw:
  description: One dictionary per domain file.
  type: list
  elements: dict
"""

from pathlib import Path

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from kt2ops.inventory.check import check_inventory
from kt2ops.runbook.state import audit_log, domain_state


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        removed = set(self.get_option("removed_from_kt13"))
        documents = []
        for term in terms:
            report = check_inventory(Path(term))
            if report.errors:
                raise AnsibleError(f"{term}: the inventory has {len(report.errors)} error(s):\n"
                                   + "\n".join(str(finding) for finding in report.errors))
            log = audit_log(Path(term))
            for doc in report.documents:
                if doc["domain"]["id"] in removed or domain_state(log, doc["domain"]["id"]).done("S.5"):
                    doc["kt13"] = {**doc["kt13"], "state": "absent"}
                documents.append(doc)
        return documents
