#!/usr/bin/env python3
"""Benchmark: the migration (P.8) into the lab's HAPI FHIR server at each --messages size, beside its
references, all in one run (these machines are noisy: compare the ratios, not the seconds).

For each size, a KT 1.3 export of about that many messages comes from the lab's synthetic-data generator
(the KT 1.3 server's own) for --env's ggz-noorderlicht under a KT 1.3 name of its own (so its migration
identifiers are the run's alone). Then:
  1. client side alone: validation (specification, scope, KT2 profiles, publishers) with staging, the mapping
     of every resource and the source's hash totals; no server;
  2. P.8 end to end, as `kt2 run P.8` runs it (the domain's trigger functions off, as runbook P.6 leaves them;
     the applications' Subscriptions active: each is notified of what it may read, and searches again),
     in a process of its own (peak memory: it and every process it starts, sampled): each application with its
     own key, transaction Bundles of conditional creates through nginx + TLS + token + Koppeltaal's rules +
     profile check + HAPI JPA;
     and the replay alone, after the validation (the server has nothing to do until the validation ends).
     With this machine exempt from the ingress limit (as runbook P.8L exempts the migration's address: a line
     of the bench's own in the env's exemption file, removed when the run ends);
  3. the server's ceiling, still exempt: the same resources created again plainly (transaction Bundles of
     POSTs, no condition, every reference resolved: to what it created before), each by its own application, at
     the same Bundle size and concurrency: what the migration's conditional creates and ordering cost is the gap.
     P.8 and the ceiling run as P.8, ceiling, ceiling, P.8 (the last under a name of its own), so that each
     meets the database once smaller and once larger; the report gives each run and the means;
  3b. P.8 again, under the ingress limit as production applies it (kt2_env.ingress_limit: paced, Bundles sized
     for it), of the same export under another KT 1.3 name (its own migration identifiers);
  3c. P.8 exempt once more (a third name) with the domain's Subscriptions set off: what the notifications of
     every migrated resource to the subscribed applications (and their searching again) cost P.8;
  4. a raw PostgreSQL COPY of the same mapped resources into a scratch table on the host (no HTTP, no TLS,
     no validation): the physical reference.
Before the first size, an unreported round of --warm-up messages runs the same steps, so that the warm-up of a
freshly started (or half an hour idle) HAPI does not fall on the first P.8 alone (measured at 100,000: 0.65 of
the ceiling cold, 0.81 warm; 10,000 messages were not enough: 0.60 at 30,000 right after them, 0.73 next).
Afterwards what the run created is removed again (as rollback R does), unless --keep (a lab about to be
torn down: removing 300,000 resources through FHIR takes longer than creating them).

    .venv/bin/python bench/migration_throughput.py [--messages 100000 400000] [--env acc21]
                                                   [--batch-size N] [--concurrency 4] [--warm-up 30000]
                                                   [--keep]
(--batch-size: by default 50 exempt, and under the limit what P.8 picks for it.) At the end: how long a domain
of 400,000 messages takes at each rate, from the largest size measured.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fhir_throughput import raw_copy  # noqa: E402
from kt2ref.kt13.generator import creates, generate  # noqa: E402

from kt2ops.layout import layout  # noqa: E402
from kt2ops.migration.client import FhirClient, FhirError  # noqa: E402
from kt2ops.migration.mapping import Unresolved, kt13_reference, migration_system, to_fhir  # noqa: E402
from kt2ops.migration.migrate import BATCH_SIZE, DOMAIN_SYSTEM, bundle_size  # noqa: E402
from kt2ops.migration.p8 import migrate, validate  # noqa: E402
from kt2ops.migration.rollback import delete_matching, remove_migrated  # noqa: E402
from kt2ops.migration.stage import TYPES_IN_ORDER, Staging  # noqa: E402
from kt2ops.migration.target import Target, target_in  # noqa: E402
from kt2ops.runbook.context import load_domain  # noqa: E402
from kt2ops.services import service_port  # noqa: E402
from plugins.filter.domains import contract_domain  # noqa: E402
from tests.integration.conftest import contract, gateway  # noqa: E402

DOMAIN = "ggz-noorderlicht"
LAB = ROOT / "inventories" / "lab"
MESSAGES_PER_CLIENT = 8.6  # the generator's average for the domain's declared counts, measured on its output
BENCH_SYSTEM = "urn:kt2ops:bench"
EXEMPTIONS = layout("kt2_nginx_limit_exempt_file")  # kt2_nginx's
DOMAIN_SIZE = 400_000  # messages of a large domain, for the duration at each rate


class Exemption:
    """This machine exempt from the env host's ingress limit while the block runs: a line of the bench's own
    (tagged with its process id) in the exemption file, removed again however the block ends."""

    def __init__(self, host: dict) -> None:
        self.container, self.tag = host["container"], f"# bench exemption {uuid.uuid4().hex[:8]}"
        self.line = f"{gateway(host)}/32 1; {self.tag}"

    def _nginx(self, script: str) -> None:
        subprocess.run(["podman", "exec", self.container, "sh", "-c", f"{script} && nginx -s reload"], check=True)

    def __enter__(self) -> Exemption:
        self._nginx(f"echo '{self.line}' >> {EXEMPTIONS}")
        time.sleep(1)  # the reload's new workers take over
        return self

    def __exit__(self, *_: object) -> None:
        self._nginx(f"sed -i '/{self.tag}$/d' {EXEMPTIONS}")


class TriggersOff:
    """The domain's trigger functions switched off on the env host while the block runs (as runbook P.6 leaves
    them for P.8), on again afterwards."""

    def __init__(self, host: dict) -> None:
        self.host = host
        self.switches = [f"/_contract/apps/{DOMAIN}/{app['id']}/triggers/{trigger['id']}"
                         for app in load_domain(LAB, DOMAIN)["applications"]
                         for trigger in app.get("trigger_functions", [])]

    def _switch(self, enabled: bool) -> None:
        for path in self.switches:
            status, answer = contract(self.host, service_port("app_service"), path, "PUT", {"enabled": enabled})
            if status != 200:
                raise RuntimeError(f"{path}: {status} {answer}")

    def __enter__(self) -> TriggersOff:
        self._switch(False)
        return self

    def __exit__(self, *_: object) -> None:
        self._switch(True)


class SubscriptionsOff:
    """The domain's active Subscriptions set off while the block runs (by its domain admin), requested again
    afterwards (the server activates them)."""

    def __init__(self, admin: FhirClient) -> None:
        self.admin, self.ids = admin, []

    def _status(self, ids: list[str], status: str) -> None:
        for id_ in ids:
            current = self.admin.call("GET", f"Subscription/{id_}").json()
            response = self.admin.call("PUT", f"Subscription/{id_}", json={**current, "status": status},
                                       headers={"If-Match": f'W/"{current["meta"]["versionId"]}"'})
            if response.status_code != 200:
                raise FhirError(f"Subscription/{id_} {status}", response)

    def __enter__(self) -> SubscriptionsOff:
        self.ids = [s["id"] for s in self.admin.search_all("Subscription", status="active")]
        self._status(self.ids, "off")
        return self

    def __exit__(self, *_: object) -> None:
        self._status(self.ids, "requested")


def notifications_sent(host: dict, env: str) -> int:
    """Notifications the env's FHIR server has delivered or failed so far: its AuditEvents of type Export."""
    sql = ("SELECT count(*) FROM hfj_res_ver v JOIN hfj_resource r ON r.res_id = v.res_id "
           "WHERE r.res_type = 'AuditEvent' AND v.res_text_vc LIKE '%\"110106\"%'")
    return int(subprocess.run(["podman", "exec", host["container"], "runuser", "-u", "postgres", "--", "psql", "-qtA",
                               "-d", f"kt2_{env}", "-c", sql], capture_output=True, text=True, check=True).stdout)


def drained(host: dict, env: str, before: int) -> tuple[int, float]:
    """Waits until the server has no notification left to send (its count stands still for 6 s): (notifications
    sent since `before`, seconds waited). HAPI matches and delivers after the commit, slower than P.8 writes: the
    backlog would otherwise fall on the next measurement."""
    start, last, still = time.perf_counter(), -1, 0
    while still < 3:
        time.sleep(2)
        count = notifications_sent(host, env)
        still, last = (still + 1, last) if count == last else (0, count)
    return last - before, time.perf_counter() - start - 6


def write_export(path: Path, kt13: str, messages: int) -> int:
    clients = max(1, round(messages / MESSAGES_PER_CLIENT))
    now = datetime.now(UTC).isoformat()
    count = 0
    domain = load_domain(LAB, DOMAIN)
    applications, counts = creates(contract_domain(domain)), domain["migration"].get("expected_counts")
    with path.open("w") as out:
        for seq, (sender, bundle) in enumerate(generate(kt13, 7, clients, applications, counts), 1):
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


def client_side(work: Path, doc: dict) -> tuple[float, list[dict]]:
    """Validation with staging, the profile check and the source's hash totals (one mapping of every
    resource), as P.8 does them: (seconds, the mapped resources for the COPY, mapped outside the timing). The
    staging stays (as ceiling.sqlite) for the ceiling's creates."""
    base = doc["kt13"]["fhir_base"]
    start = time.perf_counter()
    staging, _ = validate(work / "source.jsonl", work, doc)
    seconds = time.perf_counter() - start
    mapped = [to_fhir(kind, row, base, lambda k, s: kt13_reference(base, k, s), None, None)
              for kind in TYPES_IN_ORDER for row in staging.staged(kind)]
    staging.close()
    (work / "staging.sqlite").rename(work / "ceiling.sqlite")
    return seconds, mapped


def child(work: Path, kt13: str, env: str, exempt: bool, batch_size: int | None, concurrency: int) -> None:
    """P.8 alone in its own process, so that its peak memory is its own; paced to the ingress limit unless
    this machine is exempt."""
    target = target_in(LAB, env)
    if exempt:
        target = target.exempt()
    start = time.perf_counter()
    summary = migrate(work / "export.jsonl", work, bench_domain(kt13), target, batch_size, concurrency=concurrency)
    print(json.dumps({**summary, "wall": time.perf_counter() - start}))


def tree_pss_kib(root: int) -> int:
    """The memory of a process and every process it started (P.8's source-facts worker among them), as their
    proportional set sizes: pages they share are counted once, split between them."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            children.setdefault(int(stat.read_text().rsplit(")", 1)[1].split()[1]), []).append(int(stat.parent.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        with contextlib.suppress(OSError, StopIteration):
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
            total += int(next(line.split()[1] for line in rollup if line.startswith("Pss:")))
    return total


def ceiling(target: Target, admin: FhirClient, work: Path, base: str, batch_size: int, concurrency: int) -> tuple[
        float, int]:
    """The same resources as P.8's, created again plainly: each application's own in transaction Bundles of
    POSTs (no condition), every reference a resolved one (to what this run created before: the server checks
    it as it does P.8's), the migration identifier swapped for a bench one (the others kept: indexed alike);
    types in order, `concurrency` Bundles in flight. Needs nothing of P.8's, so it runs before P.8 as well as
    after. Timed are the Bundles sent, not their making. (seconds, resources created)."""
    staging = Staging(work / "ceiling.sqlite")
    domain = next(admin.search_all("Organization", identifier=f"{DOMAIN_SYSTEM}|{DOMAIN}"))
    organization = f"Organization/{domain['id']}"
    run = uuid.uuid4().hex[:8]
    created: dict[tuple[str, str], str] = {}

    def refer(kind: str, source_id: str) -> str:
        if (kind, source_id) not in created:
            raise Unresolved(f"{kind}/{source_id}")
        return f"{kind}/{created[kind, source_id]}"

    def entry(kind: str, row) -> dict | None:
        try:
            origin = None if target.stamps_origin else f"Device/{row['sender']}"  # as P.8 sends it
            resource = to_fhir(kind, row, base, refer, organization, origin, f"Endpoint/{row['sender']}")
        except Unresolved:  # in P.8's error list
            return None
        mark, bench = migration_system(kind), {"system": BENCH_SYSTEM, "value": f"{run}-{row['source_id']}"}
        resource["identifier"] = [bench if i.get("system") == mark else i for i in resource["identifier"]]
        return {"resource": resource, "request": {"method": "POST", "url": kind}}

    def send(bundle: tuple[FhirClient, list[tuple[str, dict]]]) -> list[str]:
        response = bundle[0].transaction([e for _, e in bundle[1]])
        if response.status_code != 200:
            raise FhirError("ceiling Bundle", response)
        return [e["response"]["location"].split("/")[1] for e in response.json()["entry"]]

    publishers = {app: target.client(DOMAIN, app) for app in sorted(staging.senders())}
    for client in publishers.values():
        client.token()
    seconds, count = 0.0, 0
    with ThreadPoolExecutor(concurrency) as pool:
        for kind in TYPES_IN_ORDER:
            bundles = []
            for sender, client in publishers.items():
                entries = [(row["source_id"], e) for row in staging.staged(kind, sender) if (e := entry(kind, row))]
                bundles += [(client, entries[i:i + batch_size]) for i in range(0, len(entries), batch_size)]
            start = time.perf_counter()
            answers = list(pool.map(send, bundles))
            seconds += time.perf_counter() - start
            for (_, entries), ids in zip(bundles, answers, strict=True):
                created.update({(kind, source_id): server_id for (source_id, _), server_id in
                                zip(entries, ids, strict=True)})
                count += len(entries)
    staging.close()
    for client in publishers.values():
        client.close()
    return seconds, count


def run_child(work: Path, kt13: str, env: str, exempt: bool, batch_size: int | None, concurrency: int) -> dict:
    """P.8 in a process of its own; its peak memory sampled every 0.2 s over it and every process it starts."""
    limits = ["--batch-size", str(batch_size)] if batch_size else []
    with tempfile.TemporaryFile("w+") as out:  # not a pipe: nothing reads it until P.8 ends
        proc = subprocess.Popen([sys.executable, __file__, "--child", str(work), kt13, env,
                                 "exempt" if exempt else "limited", *limits, "--concurrency", str(concurrency)],
                                stdout=out, text=True)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_pss_kib(proc.pid))
            time.sleep(0.2)
        out.seek(0)
        said = out.read()
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, proc.args, said)
    return {**json.loads(said.strip().splitlines()[-1]), "peak_kib": peak}


def measure(messages_wanted: int, env: str, host: dict, batch_size: int | None, concurrency: int, keep: bool) -> dict:
    kt13, second_kt13, limited_kt13, quiet_kt13 = (f"BENCH{uuid.uuid4().hex[:6].upper()}" for _ in range(4))
    doc = bench_domain(kt13)
    target = target_in(LAB, env).exempt()  # the ceiling runs exempt, as P.8 beside it
    limit = target_in(LAB, env).rate_limit
    admin = target.client(DOMAIN)
    with tempfile.TemporaryDirectory() as scratch:
        work, second_work, limited_work, quiet_work = (Path(scratch) / name for name in
                                                       ("exempt", "second", "limited", "quiet"))
        for folder in (work, second_work, limited_work, quiet_work):
            folder.mkdir()
        messages = write_export(work / "source.jsonl", kt13, messages_wanted)
        for folder, name in ((second_work, second_kt13), (limited_work, limited_kt13), (quiet_work, quiet_kt13)):
            write_export(folder / "export.jsonl", name, messages_wanted)  # the same, under its own name
        client_seconds, mapped = client_side(work, doc)
        copy_seconds = raw_copy(host["container"], f"kt2_{env}", mapped)
        shutil.copyfile(work / "source.jsonl", work / "export.jsonl")  # P.8 removes its export when done
        try:
            with TriggersOff(host), Exemption(host):
                sent = notifications_sent(host, env)
                p8 = run_child(work, kt13, env, True, batch_size, concurrency)
                p8["notified_during"] = notifications_sent(host, env) - sent
                p8["notified"], p8["drain_seconds"] = drained(host, env, sent)
                # P.8, the ceiling, the ceiling, P.8: each once on the smaller database and once on the larger;
                # the ceiling's creates notify the subscribed applications too: their backlog waited out each time.
                ceilings = []
                for _ in range(2):
                    ceilings.append(ceiling(target, admin, work, doc["kt13"]["fhir_base"], batch_size or BATCH_SIZE,
                                            concurrency))
                    drained(host, env, notifications_sent(host, env))
                p8_second = run_child(second_work, second_kt13, env, True, batch_size, concurrency)
                drained(host, env, notifications_sent(host, env))
            with TriggersOff(host):
                p8_limited = run_child(limited_work, limited_kt13, env, False, batch_size, concurrency)
                drained(host, env, notifications_sent(host, env))
            with TriggersOff(host), Exemption(host), SubscriptionsOff(admin):
                p8_quiet = run_child(quiet_work, quiet_kt13, env, True, batch_size, concurrency)
        finally:
            if not keep:
                for kind in reversed(TYPES_IN_ORDER):  # the ceiling's refer to P.8's: removed first
                    delete_matching(admin, kind, f"{BENCH_SYSTEM}|", f"removing the ceiling's {kind}")
                remove_migrated(admin)
            admin.close()
    return {"messages": messages, "resources": len(mapped), "client_seconds": client_seconds, "p8": p8,
            "p8_second": p8_second, "p8_limited": p8_limited, "p8_quiet": p8_quiet, "limit": limit,
            "plain": ceilings[0][1], "ceilings": [seconds for seconds, _ in ceilings], "copy_seconds": copy_seconds}


def report(runs: list[dict], env: str, batch_size: int | None, concurrency: int) -> None:
    limit = runs[0]["limit"]
    print(f"P.8 into HAPI on {env}: {concurrency} Bundles in flight; each application its own key; ingress limit "
          f"{limit} requests/s: Bundles of {batch_size or BATCH_SIZE} exempt, {batch_size or bundle_size(limit)} "
          "under the limit")
    print(f"{'messages':>9}{'resources':>10}  {'method':<64}{'s':>8}{'per s':>9}{'ratio':>8}{'peak MiB':>9}")
    for r in runs:
        p8, n = r["p8"], r["resources"]
        p8_wall = (p8["wall"] + r["p8_second"]["wall"]) / 2  # first and last of P.8, ceiling, ceiling, P.8
        rate = n / p8_wall
        ceiling_seconds = sum(r["ceilings"]) / 2
        ceiling_rate = r["plain"] / ceiling_seconds
        copy_rate = n / r["copy_seconds"]
        rows = [("client side alone (messages/s)", r["client_seconds"], r["messages"] / r["client_seconds"], "", ""),
                (f"P.8 exempt, end to end (resources/s; errors {p8['errors']}; mean of 2)", p8_wall, rate,
                 f"{rate / ceiling_rate:.2f}c", f"{max(p8['peak_kib'], r['p8_second']['peak_kib']) / 1024:.0f}"),
                ("  first, on the smaller database", p8["wall"], n / p8["wall"],
                 f"{n / p8['wall'] / ceiling_rate:.2f}c", ""),
                ("  last, on the larger", r["p8_second"]["wall"], n / r["p8_second"]["wall"],
                 f"{n / r['p8_second']['wall'] / ceiling_rate:.2f}c", ""),
                ("  of which the replay after the validation", p8["seconds"], n / p8["seconds"],
                 f"{n / p8['seconds'] / ceiling_rate:.2f}c", ""),
                (f"  its {p8['notified']} notifications ({p8['notified_during']} during P.8), sent by",
                 p8["wall"] + p8["drain_seconds"], p8["notified"] / (p8["wall"] + p8["drain_seconds"]), "", ""),
                (f"P.8 under the ingress limit ({r['p8_limited']['refused_by_limit']} refused)",
                 r["p8_limited"]["wall"], n / r["p8_limited"]["wall"],
                 f"{n / r['p8_limited']['wall'] / ceiling_rate:.2f}c", f"{r['p8_limited']['peak_kib'] / 1024:.0f}"),
                ("P.8 exempt, the Subscriptions off (no notifications)", r["p8_quiet"]["wall"],
                 n / r["p8_quiet"]["wall"], f"{n / r['p8_quiet']['wall'] / ceiling_rate:.2f}c",
                 f"{r['p8_quiet']['peak_kib'] / 1024:.0f}"),
                (f"plain creates of {r['plain']} of them (ceiling c; mean of 2)", ceiling_seconds, ceiling_rate,
                 "1.00c", ""),
                *((f"  {which}", seconds, r["plain"] / seconds, f"{r['plain'] / seconds / ceiling_rate:.2f}c", "")
                  for which, seconds in zip(("second, after P.8", "third, before P.8 again"), r["ceilings"],
                                            strict=True)),
                ("raw PostgreSQL COPY (resources/s)", r["copy_seconds"], copy_rate, f"{rate / copy_rate:.3f}", "")]
        for label, seconds, per_second, ratio, peak in rows:
            print(f"{r['messages']:>9}{n:>10}  {label:<64}{seconds:>8.1f}{per_second:>9.0f}{ratio:>8}{peak:>9}")
    if len(runs) > 1:
        small, large = runs[0], runs[-1]
        scale = (large["resources"] / large["p8"]["wall"]) / (small["resources"] / small["p8"]["wall"])  # first runs
        print(f"P.8 rate at {large['messages']} messages / at {small['messages']}: {scale:.2f} (linear: about 1)")
    largest = runs[-1]
    for label, key in (("exempt (P.8L)", "p8"), ("under the ingress limit", "p8_limited")):
        minutes = largest[key]["wall"] / largest["messages"] * DOMAIN_SIZE / 60
        print(f"a domain of {DOMAIN_SIZE:,} messages, P.8 {label}: about {minutes:.0f} minutes "
              f"(from {largest['messages']:,} messages)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, nargs="+", default=[100_000, 400_000])
    parser.add_argument("--env", default="acc21")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=4, help="Bundles in flight")
    parser.add_argument("--warm-up", type=int, default=30_000, metavar="MESSAGES",
                        help="messages of an unreported first round (0: none)")
    parser.add_argument("--keep", action="store_true", help="leave what the run created on the server")
    parser.add_argument("--child", nargs=4, metavar=("WORK", "KT13", "ENV", "LIMIT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), args.child[1], args.child[2], args.child[3] == "exempt", args.batch_size,
              args.concurrency)
        return
    lab = json.loads(subprocess.run([str(ROOT / ".venv/bin/kt2"), "lab", "status", "--json"], capture_output=True,
                                    text=True, check=True).stdout)
    host = next(h for h in lab if h["environment"] == args.env)
    if args.warm_up:
        measure(args.warm_up, args.env, host, args.batch_size, args.concurrency, args.keep)
        print(f"warm-up of {args.warm_up} messages done", file=sys.stderr)
    runs = []
    for size in args.messages:
        runs.append(measure(size, args.env, host, args.batch_size, args.concurrency, args.keep))
        print(f"{size} messages measured", file=sys.stderr)
    report(runs, args.env, args.batch_size, args.concurrency)


if __name__ == "__main__":
    main()
