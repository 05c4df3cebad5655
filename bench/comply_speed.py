#!/usr/bin/env python3
"""Benchmark: `kt2 comply` on the lab and on a large synthetic inventory.

1. Evidence collection for every lab host (pyinfra facts over SSH + TLS scan + HTTP probe), beside the
   same host commands run by a plain Ansible ad-hoc run with fact gathering (`setup`, then one shell
   task with the same commands), alternating over rounds in this one run; medians and the ratio.
2. Policy evaluation (all appendix B controls, Rego in-process) of a synthetic evidence document of
   1,000 domains x 4 environments, beside the same document's plain JSON round trip as a baseline.

    .venv/bin/python bench/comply_speed.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kt2ops.comply.collect import collect  # noqa: E402
from kt2ops.comply.evaluate import judge  # noqa: E402
from kt2ops.comply.facts import HOST_FACTS  # noqa: E402
from tests.unit.comply_evidence import evidence  # noqa: E402

INVENTORY = ROOT / "inventories" / "lab"


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def ansible_gathering() -> None:
    commands = "; ".join(f"echo ==; {fact().command()}" for fact in HOST_FACTS.values())
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    for args in (["-m", "ansible.builtin.setup"], ["-m", "ansible.builtin.shell", "-a", commands]):
        subprocess.run([str(ROOT / ".venv/bin/ansible"), "-i", str(INVENTORY), "kt2:kt13", *args],
                       env=env, check=True, capture_output=True)


def large_evidence(domains: int = 1000) -> dict:
    """Four environments (the two of the test document, twice over), each holding `domains` domains."""
    doc = evidence()
    for env_id in ("mgr2", "prd2"):
        copy = json.loads(json.dumps(doc["environments"][env_id]))
        twin = f"{env_id}b"
        copy["id"] = twin
        copy["hosts"] = {f"{twin}.lab": copy["hosts"][f"{env_id}.lab"]}
        for cert in copy["hosts"][f"{twin}.lab"]["tls"]["chain"]:
            cert.update(sha256=cert["sha256"] + "b", public_key_sha256=cert["public_key_sha256"] + "b")
        doc["records"]["people"][0]["environments"].append(twin)
        doc["environments"][twin] = copy
        doc["pki"][twin] = [{**c, "sha256": c["sha256"] + "b", "public_key_sha256": c["public_key_sha256"] + "b",
                             "subject": c["subject"] + "b"} for c in doc["pki"][env_id]]
    names = [f"domein-{i:04d}" for i in range(domains)]
    for env in doc["environments"].values():
        env["domains_configured"] = {n: n.title() for n in names}
        env["domains_held"] = {host: {n: {"traffic": "open"} for n in names} for host in env["hosts"]}
    suppliers = [f"Leverancier {i} BV" for i in range(domains // 5)]
    doc["suppliers_in_use"] = suppliers
    doc["records"]["suppliers"] = {s: {"name": s, "incident_procedure": {"expires": "2027-01-01"}} for s in suppliers}
    return doc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ours, plain = [], []
    for _ in range(args.rounds):
        ours.append(timed(lambda: collect(INVENTORY, progress=lambda _: None)))
        plain.append(timed(ansible_gathering))
    big = large_evidence()
    policy, baseline = [], []
    for _ in range(args.rounds):
        policy.append(timed(lambda: judge(big)))
        baseline.append(timed(lambda: json.loads(json.dumps(big))))
    hosts = sum(len(e["hosts"]) for e in collect(INVENTORY, progress=lambda _: None)["environments"].values())
    print(f"evidence collection, {hosts} lab hosts, median of {args.rounds}:")
    print(f"  kt2 comply collect (pyinfra facts + TLS scan + HTTP probe): {statistics.median(ours):7.2f} s")
    print(f"  plain Ansible (setup + the same commands):                {statistics.median(plain):7.2f} s"
          f"   ratio {statistics.median(plain) / statistics.median(ours):.2f}x")
    print(f"policy evaluation, 1,000 domains x {len(big['environments'])} environments, median of {args.rounds}:")
    print(f"  all appendix B controls (Rego, regopy):                    {statistics.median(policy):7.2f} s")
    print(f"  JSON round trip of the same evidence (baseline):           {statistics.median(baseline):7.3f} s"
          f"   ratio {statistics.median(policy) / statistics.median(baseline):.0f}x")


if __name__ == "__main__":
    main()
