#!/usr/bin/env python3
"""Benchmark: FHIR write throughput of an environment's FHIR server (HAPI), beside raw PostgreSQL COPY.

Writes the same synthetic Patient rows three ways, in this one run, on one environment of the lab:
  1. single FHIR creates (POST Patient), one at a time, through nginx + TLS, token, KT rules and profile check,
     HAPI JPA;
  2. FHIR transaction Bundles of --bundle-size Patients through the same path;
  3. baseline: a raw COPY of the same JSON rows into a scratch table of the same PostgreSQL, timed on
     the host itself (no HTTP, no TLS, no validation).
Rounds alternate the three so that machine noise hits them alike; the table shows medians of
resources per second and each figure's ratio to COPY. Needs a provisioned lab (scripts/demo.sh).

    .venv/bin/python bench/fhir_throughput.py [--env acc22] [--count 300] [--bundle-size 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.conftest import kt2_client  # noqa: E402

DOMAIN, APP = "ggz-noorderlicht", "noorderlicht-ecd"

COPY_ON_HOST = """
import io, json, sys, time, psycopg2
rows = [line for line in sys.stdin.read().splitlines() if line]
conn = psycopg2.connect(dbname=sys.argv[1])
cur = conn.cursor()
cur.execute("CREATE TEMP TABLE bench_copy (id text, body jsonb)")
start = time.perf_counter()
cur.copy_expert("COPY bench_copy FROM STDIN", io.StringIO("".join(f"{i}\\t{r}\\n" for i, r in enumerate(rows))))
conn.commit()
print(time.perf_counter() - start)
"""


def patients(count: int) -> list[dict]:
    run = uuid.uuid4().hex[:8]
    return [{"resourceType": "Patient", "active": True, "gender": "female", "birthDate": "1980-01-01",
             "identifier": [{"system": "urn:kt2ops:bench", "value": f"{run}-{n}"}],
             "name": [{"use": "official", "given": ["Bench"], "family": f"Testmans {n}"}]} for n in range(count)]


def single(client, rows: list[dict]) -> float:
    start = time.perf_counter()
    for row in rows:
        answer = client.fhir("POST", "Patient", json=row)
        answer.raise_for_status()
    return time.perf_counter() - start


def bundles(client, rows: list[dict], size: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(rows), size):
        bundle = {"resourceType": "Bundle", "type": "transaction",
                  "entry": [{"resource": r, "request": {"method": "POST", "url": "Patient"}} for r in rows[i:i + size]]}
        client.fhir("POST", "", json=bundle).raise_for_status()
    return time.perf_counter() - start


def raw_copy(container: str, database: str, rows: list[dict]) -> float:
    data = "\n".join(json.dumps(r) for r in rows)
    proc = subprocess.run(["podman", "exec", "-i", container, "runuser", "-u", "postgres", "--", "python3", "-c",
                           COPY_ON_HOST, database], input=data, capture_output=True, text=True, check=True)
    return float(proc.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="acc22")
    parser.add_argument("--count", type=int, default=300, help="resources per method and round")
    parser.add_argument("--bundle-size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    lab = json.loads(subprocess.run([str(ROOT / ".venv/bin/kt2"), "lab", "status", "--json"], capture_output=True,
                                    text=True, check=True).stdout)
    container = next(h["container"] for h in lab if h["environment"] == args.env)
    client = kt2_client(lab, args.env, DOMAIN, APP)
    client.fhir("GET", "Patient?_summary=count").raise_for_status()  # token and connection warm
    seconds: dict[str, list[float]] = {"single": [], "bundle": [], "copy": []}
    for round_no in range(args.rounds):
        for method in ("single", "bundle", "copy"):
            rows = patients(args.count)
            if method == "single":
                seconds[method].append(single(client, rows))
            elif method == "bundle":
                seconds[method].append(bundles(client, rows, args.bundle_size))
            else:
                seconds[method].append(raw_copy(container, f"kt2_{args.env}", rows))
        print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)
    rate = {m: args.count / statistics.median(s) for m, s in seconds.items()}
    print(f"FHIR write throughput on {args.env} ({args.count} Patients per method, {args.rounds} rounds, medians)")
    print(f"{'method':<44}{'resources/s':>12}{'vs COPY':>10}")
    labels = {"single": "FHIR create, one per request (nginx+TLS)",
              "bundle": f"FHIR transaction, {args.bundle_size} per Bundle",
              "copy": "raw PostgreSQL COPY (baseline)"}
    for method in ("single", "bundle", "copy"):
        print(f"{labels[method]:<44}{rate[method]:>12.0f}{rate[method] / rate['copy']:>9.3f}x")


if __name__ == "__main__":
    main()
