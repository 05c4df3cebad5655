#!/usr/bin/env bash
# The main job on the embedded default: set up, validate the lab inventory, bring the lab up and
# provision every host (site.yml baseline, provision.yml environments, security.yml appendix B), then
# one domain's whole migration journey (kt2 journey: trial on mgr2, runbook L..S, Q gate, compliance).
# A second run changes nothing (the journey skips what is done). `kt2 lab down` resets the lab.
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
kt2 journey --domain "${KT2_DEMO_DOMAIN:-jeugdzorg-delta}" --approve-as "Lab demo" \
    --emergency-reason "lab demo: production steps outside the maintenance window"
