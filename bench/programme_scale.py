#!/usr/bin/env python3
"""Benchmark: `kt2 programme` for a large programme, beside reading the inventory alone.

Generates a copy of the lab inventory with N domains in C clusters (sizes from 2,000 to 400,000 resources,
a fifth with a planned date, part of them with runbook steps on record), then times in one run, alternating
over rounds: `check_inventory` (reading and checking every file: the baseline) and `load_programme` (the same
reading, every domain's position from the audit trail, and the plan with its findings). Medians and ratio.

    .venv/bin/python bench/programme_scale.py [--domains 500] [--clusters 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kt2ops.inventory.check import check_inventory  # noqa: E402
from kt2ops.programme.programme import load_programme  # noqa: E402
from kt2ops.runbook.state import audit_log  # noqa: E402

AT = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
STEPS = ("L.1", "L.2", "M.2", "M.5")
THIRD_WEDNESDAYS = ((2, 17), (3, 17), (4, 21), (5, 19), (6, 16), (7, 21))


def generate(target: Path, domains: int, clusters: int) -> None:
    shutil.copytree(ROOT / "inventories" / "lab", target,
                    ignore=shutil.ignore_patterns(".lab", "zz_lab_connection.yml", ".runbook"))
    template = yaml.safe_load((target / "domains" / "ggz-noorderlicht.yml").read_text())
    for path in (target / "domains").glob("*.yml"):
        path.unlink()
    rng = random.Random(7)
    log = audit_log(target)
    for n in range(domains):
        domain_id = f"domein-{n:03d}"
        doc = yaml.safe_load(yaml.safe_dump(template))
        doc["domain"].update(id=domain_id, name=f"Domein {n}", cluster=f"cluster-{n % clusters:02d}")
        doc["kt13"]["domain"] = f"D{n:04d}"
        doc["migration"]["expected_counts"] = {"Patient": rng.randint(1000, 50_000),
                                               "Task": rng.randint(1000, 350_000)}
        doc["migration"].pop("planned", None)
        if n % 5 == 0:  # a fifth planned already, in the windows of February to July 2027 (third Wednesdays)
            month, day = THIRD_WEDNESDAYS[n % len(THIRD_WEDNESDAYS)]
            doc["migration"]["planned"] = {"start": f"2027-{month:02d}-{day:02d}T18:30:00+01:00",
                                           "announced": "2027-01-05"}
        (target / "domains" / f"{domain_id}.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
        for step in STEPS[:n % (len(STEPS) + 1)]:
            run = f"{domain_id}-{step}"
            log.append({"type": "step.start", "run": run, "step": step, "domain": domain_id})
            log.append({"type": "step.end", "run": run, "step": step, "domain": domain_id, "result": "ok"})


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=500)
    parser.add_argument("--clusters", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inventory = Path(tmp) / "programme"
        generate(inventory, args.domains, args.clusters)
        reading, programme = [], []
        for _ in range(args.rounds):
            reading.append(timed(lambda: check_inventory(inventory)))
            programme.append(timed(lambda: load_programme(inventory, AT)))
        result = load_programme(inventory, AT)
    read, whole = statistics.median(reading), statistics.median(programme)
    print(f"{args.domains} domains in {args.clusters} clusters, {args.rounds} rounds (medians):")
    print(f"  reading and checking the inventory alone   {read:6.2f} s")
    print(f"  kt2 programme (positions, plan, findings)  {whole:6.2f} s   {whole / read:.2f}x the reading")
    print(f"  plan: {sum(s.proposed for s in result.plan.slots)} proposed, "
          f"{sum(not s.proposed for s in result.plan.slots)} planned, {len(result.plan.unplaced)} without a place, "
          f"{len(result.findings)} findings")


if __name__ == "__main__":
    main()
