#!/usr/bin/env python3
"""Benchmark: site.yml on the lab, stock Ansible configuration vs kt2ops' tuned ansible.cfg.

For each configuration site.yml runs twice (a converge run and an idempotent run, which must report
0 changed). Configurations alternate over several rounds on the same lab, in this one run, so machine
noise hits them alike; the table shows medians and the ratio to stock. "Stock" is Ansible's defaults with
only what reaching the lab's hosts needs: the inventory, the vault password and an ssh-agent for the hosts'
vault-encrypted keys. Every run keeps its SSH control sockets in a directory of this bench's own, and the
bench closes those (and no other SSH master on the machine) before the next run, so no configuration
starts with connections another one opened.

    .venv/bin/python bench/site_idempotent.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"

STOCK_CFG = f"""[defaults]
inventory = {ROOT}/inventories/lab
roles_path = {ROOT}/roles
collections_path = {ROOT}/collections
vault_password_file = ~/.config/kt2ops/vault-password
[inventory]
ignore_patterns = ^(domains|cleaning)$
[connection]
ssh_agent = auto
"""


def close_ssh_masters(control_dir: Path) -> None:
    """End the SSH control masters whose sockets are in `control_dir` (this bench's own)."""
    for socket in control_dir.glob("*"):
        subprocess.run(["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "kt2ops-bench"], check=False,
                       capture_output=True)


def run_site(env: dict[str, str]) -> tuple[float, int]:
    close_ssh_masters(Path(env["ANSIBLE_SSH_CONTROL_PATH_DIR"]))
    start = time.perf_counter()
    proc = subprocess.run([str(BIN / "ansible-playbook"), "playbooks/site.yml"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"site.yml failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", proc.stdout))
    return elapsed, changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    subprocess.run([str(BIN / "kt2"), "lab", "up"], cwd=ROOT, check=True, capture_output=True)
    scratch = Path(tempfile.mkdtemp(prefix="kt2ops-bench-"))
    stock = scratch / "stock.cfg"
    stock.write_text(STOCK_CFG)
    base = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_DEPRECATION_WARNINGS": "0"}
    configs = {
        "stock": {**base, "ANSIBLE_CONFIG": str(stock)},
        "tuned, no mitogen": {**base, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "KT2OPS_MITOGEN": "0"},
        "tuned (kt2ops)": {**base, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
    }
    for number, env in enumerate(configs.values()):
        (scratch / f"cp{number}").mkdir()
        env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(scratch / f"cp{number}")
    times: dict[str, dict[str, list[float]]] = {name: {"converge": [], "idempotent": []} for name in configs}
    for rnd in range(args.rounds):
        for name, env in configs.items():
            converge, _ = run_site(env)
            idempotent, changed = run_site(env)
            if changed:
                sys.exit(f"{name}: the second run of site.yml reported {changed} changed (must be 0)")
            times[name]["converge"].append(converge)
            times[name]["idempotent"].append(idempotent)
            print(f"round {rnd + 1}: {name:18} converge {converge:6.2f}s  idempotent {idempotent:6.2f}s",
                  file=sys.stderr)
    for env in configs.values():
        close_ssh_masters(Path(env["ANSIBLE_SSH_CONTROL_PATH_DIR"]))
    shutil.rmtree(scratch)

    stock_idem = statistics.median(times["stock"]["idempotent"])
    hosts = subprocess.run([str(BIN / "ansible-inventory"), "--list"], cwd=ROOT, capture_output=True, text=True,
                           env=configs["tuned (kt2ops)"], check=True).stdout.count('"ansible_host"')
    print(f"\nsite.yml on the lab ({hosts} hosts), median of {args.rounds} rounds; second run 0 changed in all")
    print(f"{'configuration':20} {'run 1 (s)':>10} {'run 2 idempotent (s)':>22} {'ratio to stock':>15}")
    for name, t in times.items():
        idem = statistics.median(t["idempotent"])
        print(f"{name:20} {statistics.median(t['converge']):10.2f} {idem:22.2f} {stock_idem / idem:14.2f}x")


if __name__ == "__main__":
    main()
