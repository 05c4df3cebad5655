#!/usr/bin/env python3
"""Benchmark: the backup pipeline of runbook L.2/P.2 on a >= 1 GiB stream from a lab host.

The same stream (produced on the kt13 host) is taken three ways in one run, alternating over rounds:
  1. baseline: plain `ssh host cmd > file` (what any copy costs: SSH transport and the disk);
  2. baseline + SHA-256 on the control machine;
  3. kt2ops: streamed into age encryption with SHA-256 and row counting (runbook/backup.py `_seal_part`).
Prints medians, MiB/s and the ratio to the plain copy.

    .venv/bin/python bench/backup_throughput.py [--mib 1024] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from pyrage import x25519

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kt2ops.remote import Remote  # noqa: E402
from kt2ops.runbook.backup import Part, _seal_part  # noqa: E402

CONNECTION = ROOT / "inventories" / "lab" / "zz_lab_connection.yml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    hosts = yaml.safe_load(CONNECTION.read_text())["all"]
    remote = Remote.from_hostvars("kt13.lab", {**hosts["vars"], **hosts["hosts"]["kt13.lab"]})
    # Text rows like a COPY stream (not zeros), generated on the host as fast as it can.
    # (Process substitution: `yes` ends by SIGPIPE, which a pipeline under pipefail would report.)
    produce = f"head -c {args.mib}M <(yes 'NOORDERLICHT\\t2f132f55-a202-489e-bdfc-a43abb37e875\\tCreateOrUpdate')"
    recipient = x25519.Identity.generate().to_public()
    times: dict[str, list[float]] = {"ssh copy (baseline)": [], "ssh copy + SHA-256": [], "kt2ops backup": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)

        def plain() -> None:
            with (work / "plain").open("wb") as out:
                subprocess.run(remote.argv(produce), stdout=out, check=True)

        def hashed() -> None:
            proc = remote.stream(produce, write=False)
            digest = hashlib.sha256()
            with (work / "hashed").open("wb") as out:
                while chunk := proc.stdout.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            remote.finish(proc, produce)

        def sealed() -> None:
            _seal_part(Part("bench", remote, None, "files", produce), work, recipient)

        for round_ in range(args.rounds):
            for name, action in zip(times, (plain, hashed, sealed), strict=True):
                start = time.perf_counter()
                action()
                times[name].append(time.perf_counter() - start)
            print(f"round {round_ + 1}: " + ", ".join(f"{n} {t[-1]:.2f}s" for n, t in times.items()), flush=True)
    base = statistics.median(times["ssh copy (baseline)"])
    print(f"\n{args.mib} MiB from kt13.lab, median of {args.rounds} rounds")
    print(f"{'method':<24} {'seconds':>8} {'MiB/s':>8} {'vs copy':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<24} {median:>8.2f} {args.mib / median:>8.1f} {base / median:>7.2f}x")


if __name__ == "__main__":
    main()
