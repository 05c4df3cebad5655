#!/usr/bin/env bash
# The main job on the embedded default: set up, validate the lab inventory, bring the lab up and
# provision every host (site.yml baseline, provision.yml environments, security.yml appendix B).
# A second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
kt2 inventory check -i inventories/lab
kt2 lab up
ansible-playbook playbooks/site.yml
ansible-playbook playbooks/provision.yml
ansible-playbook playbooks/security.yml
kt2 lab status
