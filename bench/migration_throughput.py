#!/usr/bin/env python3
"""Benchmark: the migration (P.8) end to end for a generated KT 1.3 export of about --messages messages,
beside a raw PostgreSQL COPY of the same (mapped) resources into the same database, in the same run.

The export comes from the lab's synthetic-data generator (the KT 1.3 server's own), scaled to the message
count; it is migrated into --env's ggz-noorderlicht domain under a KT 1.3 name of its own (so its migration
identifiers do not collide), through nginx + TLS + SMART token + validation + JSONB, as `kt2 run P.8` does:
validation, staging, replay in transaction Bundles, source hash totals. The baseline COPY is timed on the
host itself (no HTTP, no TLS, no validation). Afterwards the migrated resources are purged again.

    .venv/bin/python bench/migration_throughput.py [--messages 100000] [--env acc21] [--batch-size 200]
                                                   [--concurrency 1 4]
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fhir_throughput import raw_copy  # noqa: E402
from kt2ref.kt13.generator import generate  # noqa: E402

from kt2ops.migration.mapping import kt13_reference, to_fhir  # noqa: E402
from kt2ops.migration.stage import TYPES_IN_ORDER, Staging  # noqa: E402
from kt2ops.migration.step import Target, migrate  # noqa: E402
from kt2ops.runbook.context import load_domain  # noqa: E402

DOMAIN = "ggz-noorderlicht"
LAB = ROOT / "inventories" / "lab"
MESSAGES_PER_CLIENT = 5.17  # the generator's average, measured on its output


def write_export(path: Path, kt13: str, messages: int) -> int:
    clients = max(1, round(messages / MESSAGES_PER_CLIENT))
    now = datetime.now(UTC).isoformat()
    count = 0
    with path.open("w") as out:
        for seq, (sender, bundle) in enumerate(generate(kt13, 7, clients, ["mindfit-module", "noorderlicht-ecd"]), 1):
            header = bundle["entry"][0]["resource"]
            out.write(json.dumps({"seq": seq, "id": header["id"], "event": header["event"]["code"], "sender": sender,
                                  "status": "Success", "retries": 0, "received": now, "bundle": bundle}) + "\n")
            count = seq
    return count


def kt13_base(kt13: str) -> str:
    """The run's own KT 1.3 FHIR base: its links (the migration identifiers) are the run's alone."""
    return f"https://kt13.koppeltaal.test/kt13/{kt13}/FHIR/Koppeltaal"


def bench_domain(kt13: str) -> dict:
    doc = copy.deepcopy(load_domain(LAB, DOMAIN))
    doc["kt13"] = {**doc["kt13"], "domain": kt13, "fhir_base": kt13_base(kt13)}
    doc["migration"]["scope"] = {"dossiers": "open_and_closed", "history_months": {"default": 600}}
    return doc


def purge(container: str, database: str, kt13: str) -> None:
    """Remove the run's resources from the database and refresh its statistics (so runs start alike)."""
    subprocess.run(["podman", "exec", container, "runuser", "-u", "postgres", "--", "psql", "-q", "-d", database,
                    "-c", f"DELETE FROM resources WHERE domain = '{DOMAIN}' AND body::text LIKE '%{kt13}/%'",
                    "-c", "VACUUM ANALYZE resources", "-c", "VACUUM ANALYZE identifiers"], check=True)


def child(work: Path, kt13: str, env: str, address: str, batch_size: int, concurrency: int) -> None:
    """The migration alone in its own process, so that its peak memory is its own."""
    target = Target(env, f"https://{env}.koppeltaal.test", address, LAB / ".pki" / env)
    start = time.perf_counter()
    summary = migrate(work / "export.jsonl", work, bench_domain(kt13), target, batch_size, concurrency=concurrency)
    print(json.dumps({**summary, "wall": time.perf_counter() - start,
                      "peak_kib": peak_kib()}))


def peak_kib() -> int:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec, so it would
    # report this benchmark's own (larger) footprint rather than the migration's.
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--env", default="acc21")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4],
                        help="Bundles in flight within a type; one run per value, side by side")
    parser.add_argument("--child", nargs=4, metavar=("WORK", "KT13", "ENV", "ADDRESS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), args.child[1], args.child[2], args.child[3], args.batch_size, args.concurrency[0])
        return
    lab = json.loads(subprocess.run([str(ROOT / ".venv/bin/kt2"), "lab", "status", "--json"], capture_output=True,
                                    text=True, check=True).stdout)
    host = next(h for h in lab if h["environment"] == args.env)
    kt13 = f"BENCH{uuid.uuid4().hex[:6].upper()}"
    doc = bench_domain(kt13)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        messages = write_export(work / "source.jsonl", kt13, args.messages)  # P.8 removes its export: a copy a run
        # The baseline's rows: the same resources, mapped as the migration maps them.
        staging = Staging.build(work / "source.jsonl", work / "baseline.sqlite", doc["migration"]["scope"],
                                datetime.now(UTC))
        base = kt13_base(kt13)
        rows = [to_fhir(kind, row, base, lambda k, s: kt13_reference(base, k, s), None, None)
                for kind in TYPES_IN_ORDER for row in staging.staged(kind)]
        staging.close()
        purge(host["container"], f"kt2_{args.env}", kt13)  # also refreshes the statistics before timing
        copy_seconds = raw_copy(host["container"], f"kt2_{args.env}", rows)
        runs = {}
        for concurrency in args.concurrency:
            # Gone for good, not only logically deleted: every run starts from the same database.
            purge(host["container"], f"kt2_{args.env}", kt13)
            (work / "checkpoint.sqlite").unlink(missing_ok=True)
            shutil.copyfile(work / "source.jsonl", work / "export.jsonl")
            proc = subprocess.run([sys.executable, __file__, "--child", str(work), kt13, args.env, host["address"],
                                   "--batch-size", str(args.batch_size), "--concurrency", str(concurrency)],
                                  capture_output=True, text=True, check=True)
            runs[concurrency] = json.loads(proc.stdout.strip().splitlines()[-1])
    purge(host["container"], f"kt2_{args.env}", kt13)
    first = next(iter(runs.values()))
    resources = sum(first["migrated"].values())
    print(f"migration of {messages} KT 1.3 messages -> {resources} KT 2.0 resources on {args.env} "
          f"(Bundles of {args.batch_size}; errors: {first['errors']})")
    print(f"{'method':<52}{'s':>8}{'resources/s':>13}{'messages/s':>12}{'vs COPY':>9}{'peak MiB':>10}")
    copy_rate = len(rows) / copy_seconds
    for concurrency, summary in runs.items():
        seconds = summary["wall"]
        label = f"kt2ops P.8 end to end, {concurrency} Bundle(s) in flight"
        print(f"{label:<52}{seconds:>8.1f}{resources / seconds:>13.0f}{messages / seconds:>12.0f}"
              f"{resources / seconds / copy_rate:>8.3f}x{summary['peak_kib'] / 1024:>10.0f}")
    print(f"{'raw PostgreSQL COPY of the same resources (baseline)':<52}{copy_seconds:>8.2f}{copy_rate:>13.0f}"
          f"{'':>12}{1:>8.3f}x")


if __name__ == "__main__":
    main()
