#!/usr/bin/env python3
"""Benchmark: delivering a data package into mgr2's SFTP transfer area (appendix B.1).

The same file (random bytes, like an encrypted package) is sent three ways in one run, alternating over rounds:
  1. baseline: `scp` to the transfer account (OpenSSH, what an operator would type);
  2. `sftp -b` (OpenSSH's batch client, what kt2ops used before);
  3. kt2ops: `kt2ops.security.sftp.send` (paramiko: host key checked, pipelined, resumable, with progress).
Prints medians, MiB/s and the ratio to scp. Needs the secured lab (playbooks/security.yml on mgr2).

    .venv/bin/python bench/sftp_throughput.py [--mib 256] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from kt2ops.inventory.model import load_inventory  # noqa: E402
from kt2ops.layout import layout  # noqa: E402
from kt2ops.remote import Remote  # noqa: E402
from kt2ops.security import sftp  # noqa: E402
from kt2ops.ssh_agent import identity_args  # noqa: E402

AREA = f"{layout('kt2_transfer_root')}/incoming"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    inventory = load_inventory(ROOT / "inventories" / "lab")
    remote = Remote.from_hostvars("mgr2.lab", inventory.hostvars["mgr2.lab"])
    # The lab key is vault-encrypted: scp and sftp get it from the process's ssh-agent, as kt2ops' ssh does.
    ssh = [*remote.options, *identity_args(str(remote.key_file)), "-o", "BatchMode=yes"]
    target = f"{sftp.TRANSFER_USER}@{remote.address}"
    times: dict[str, list[float]] = {"scp (baseline)": [], "sftp -b (OpenSSH)": [], "kt2ops sftp (paramiko)": []}
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "bench.tar.age"
        package.write_bytes(os.urandom(args.mib << 20))
        batch = Path(tmp) / "batch"
        batch.write_text(f"put {package} bench.tar.age\n")
        runs = {
            "scp (baseline)": lambda: subprocess.run(["scp", "-q", *ssh, str(package), f"{target}:bench.tar.age"],
                                                     check=True),
            "sftp -b (OpenSSH)": lambda: subprocess.run(["sftp", "-q", *ssh, "-b", str(batch), target], check=True,
                                                        stdout=subprocess.DEVNULL),
            "kt2ops sftp (paramiko)": lambda: sftp.send(remote, [package]),
        }
        for _ in range(args.rounds):
            for name, send in runs.items():
                subprocess.run(["podman", "exec", "kt2ops-mgr2", "rm", "-f", f"{AREA}/bench.tar.age"], check=True)
                started = time.perf_counter()
                send()
                times[name].append(time.perf_counter() - started)
        subprocess.run(["podman", "exec", "kt2ops-mgr2", "rm", "-f", f"{AREA}/bench.tar.age"], check=True)
    baseline = statistics.median(times["scp (baseline)"])
    print(f"{args.mib} MiB to mgr2's transfer area, median of {args.rounds} rounds")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:26} {median:6.2f} s  {args.mib / median:7.1f} MiB/s  {baseline / median:5.2f}x of scp")


if __name__ == "__main__":
    main()
