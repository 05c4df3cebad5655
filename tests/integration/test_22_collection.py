"""The collection kt2ops.platform builds, installs into a fresh path, and runs from there against the lab."""

import json

import pytest

from tests.conftest import ROOT, run
from tests.integration.conftest import outcome, playbook, recap

PLAYBOOK = """
- name: The baseline role, by its FQCN, from the installed collection
  hosts: acc21.lab
  gather_facts: false
  roles:
    - role: kt2ops.platform.kt2_base
      vars:
        kt2_base_timezone: "{{ kt2_timezone }}"
        kt2_base_admin_user: "{{ ansible_user | default('root') }}"
        kt2_base_admin_authorized_keys: "{{ kt2_admin_authorized_keys | default([]) }}"

- name: Controller plugins from the installed collection
  hosts: acc21.lab
  gather_facts: false
  tasks:
    - name: Lookup and filter
      ansible.builtin.set_fact:
        kt2_here: "{{ query('kt2ops.platform.domains', inventory_dir) | kt2ops.platform.domains_on(kt2_env.id)
                      | map(attribute='domain.id') | list }}"
      delegate_to: localhost
      run_once: true

    - name: The runbook gate names a domain it does not know
      kt2ops.platform.runbook_gate:
        step: L.1
        domain: no-such-domain
      register: kt2_gate
      ignore_errors: true
      delegate_to: localhost
      run_once: true

    - name: An action plugin refuses an option its module does not document
      kt2ops.platform.drain_wait:
        url: http://127.0.0.1:8090/_contract/domains/X/depth
        timeot: 1
      register: kt2_drain
      ignore_errors: true

    - name: Both refused, each with its reason
      ansible.builtin.assert:
        that:
          - kt2_gate is failed and "no domain 'no-such-domain'" in kt2_gate.msg
          - kt2_drain is failed and 'Unsupported parameters' in kt2_drain.msg and 'timeot' in kt2_drain.msg

    - name: Report
      ansible.builtin.debug:
        msg: "domains on acc21: {{ kt2_here | join(',') }}"
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The collection built by `kt2 collection build` and installed where nothing else of the project is."""
    work = tmp_path_factory.mktemp("collection")
    tarball = run(".venv/bin/kt2", "collection", "build", "--output", str(work / "dist")).stdout.strip()
    target = work / "installed"
    (work / "galaxy.cfg").write_text("[defaults]\n")  # not the project's: its collections path is in reach
    proc = run(".venv/bin/ansible-galaxy", "collection", "install", tarball, "-p", str(target),
               env={"ANSIBLE_CONFIG": str(work / "galaxy.cfg"), "ANSIBLE_COLLECTIONS_PATH": str(target)})
    assert "kt2ops.platform:0.1.0 was installed successfully" in proc.stdout
    return work, target / "ansible_collections" / "kt2ops" / "platform"


def test_the_installed_collection_holds_plugins_and_roles_without_test_scaffolding(installed):
    _, root = installed
    assert (root / "plugins" / "action" / "runbook_gate.py").is_file()
    assert (root / "plugins" / "modules" / "runbook_gate.py").is_file()
    assert (root / "plugins" / "plugin_utils" / "kt2_action.py").is_file()
    assert sorted(p.name for p in (root / "roles").iterdir()) == sorted(p.name for p in (ROOT / "roles").iterdir())
    assert not list(root.rglob("molecule")) and not list(root.rglob("__pycache__"))
    manifest = json.loads((root / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["namespace"] == "kt2ops"


def test_a_playbook_of_fqcns_runs_from_the_installed_collection(lab, installed):
    work, root = installed
    site = playbook("playbooks/site.yml", "-l", "acc21.lab")
    assert site.returncode == 0, outcome(site)
    book = work / "fqcn.yml"
    book.write_text(PLAYBOOK)
    # The project's collection and roles are out of reach: only the installed copy can answer.
    env = {"ANSIBLE_COLLECTIONS_PATH": str(root.parents[2]), "ANSIBLE_ROLES_PATH": str(work / "no-roles")}
    doc = json.loads(run(".venv/bin/ansible-doc", "--json", "kt2ops.platform.runbook_gate", env=env).stdout)
    assert doc["kt2ops.platform.runbook_gate"]["doc"]["filename"].startswith(str(root))

    proc = run(".venv/bin/ansible-playbook", "-vvv", "-i", "inventories/lab", str(book), env=env, check=False)
    assert proc.returncode == 0, outcome(proc)
    assert f"task path: {root}/roles/kt2_base/tasks/" in proc.stdout
    # The installed role finds the host as the project's site.yml just left it.
    counts = recap(proc.stdout)["acc21.lab"]
    assert (counts["changed"], counts["failed"], counts["ignored"]) == (0, 0, 2), outcome(proc)
    assert "domains on acc21: " in proc.stdout and "jeugdzorg-delta" in proc.stdout
