#!/usr/bin/env bash
# The whole test suite: linters, unit tests, and the integration tests against the real lab
# (lab up/status/down, isolation, site.yml idempotence, molecule for every role).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
echo "== ruff"; ruff check src tests bench plugins
echo "== ansible-lint"; ansible-lint --offline -q playbooks roles awx
echo "== pytest"; pytest --durations=60 "$@"
