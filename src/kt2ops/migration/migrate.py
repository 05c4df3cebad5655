"""Runbook P.8 (and M.2): replay a staged domain into the KT 2.0 FHIR server.

Types go in reference order, in transaction Bundles of conditional creates keyed by the migration
identifier, so a Bundle sent twice creates nothing twice. A checkpoint (SQLite, beside the staging)
records each resource's server id once its Bundle is committed: a killed run resumes where it stopped
and at worst re-sends the Bundles in flight, which the server then answers with the existing ids.
A Bundle the server refuses is split until the refused resources are found; they go to the error list
(M.3 / Q.1) with the message they came from and the reason, and what depends on them fails with them.

Within a type several Bundles are in flight at once (nothing of a type references its own type); a type
starts when every Bundle of the types before it is settled, so references always point at what is there.

Each application publishes its own data with its own credentials, and every resource carries that
application's Device as resource-origin: stamped by the server where it stamps a transaction's entries (KT's
rules), set by P.8 where the server stores them as sent (production). All Patients of all applications go
before the Tasks that point at them. A supplier
running its part alone refers to another application's resources by the guide's identifier (a conditional
reference the server resolves), since its checkpoint does not know their server ids."""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from kt2ops.migration.client import FhirClient, FhirError, diagnostics
from kt2ops.migration.mapping import Unresolved, kt13_reference, migrated, to_fhir
from kt2ops.migration.stage import TYPES_IN_ORDER, Staging

APPLICATION_SYSTEM = "http://vzvz.nl/fhir/NamingSystem/koppeltaal-client-id"  # Device = client id
DOMAIN_SYSTEM = "urn:kt2ops:domain"
# Resources per transaction Bundle. HAPI checks every conditional create of a Bundle against every resource
# of its type in it (BaseTransactionProcessor.validateNoDuplicates), a cost that grows with the square of the
# Bundle's size: at 200 the migration reached 0.62 of plain creates, at 50 0.72 (bench/migration_throughput.py).
BATCH_SIZE = 50
# Under an ingress limit per client address a Bundle must carry enough to keep the server busy at the allowed
# requests per second: about what HAPI takes from P.8 in the lab (bench/migration_throughput.py, ~700/s with
# Bundles of 50), up to Bundles of 500.
SERVER_RATE = 700
MAX_BUNDLE = 500
# ("<application> <type>", done, total) after every Bundle
Progress = Callable[[str, int, int], None]


def bundle_size(rate_limit: float | None) -> int:
    """Resources per Bundle: BATCH_SIZE, or under an ingress limit (requests/s) as many as keep the limit from
    holding the migration below what the server takes."""
    if not rate_limit:
        return BATCH_SIZE
    return min(MAX_BUNDLE, max(BATCH_SIZE, math.ceil(SERVER_RATE / rate_limit)))


def limited_rate(rate_limit: float) -> float:
    """Resources/s P.8 can send under an ingress limit: its requests/s times the Bundle size it picks for it."""
    return rate_limit * bundle_size(rate_limit)


class Checkpoint:
    """What is already on the target: KT 1.3 (type, id) -> server id; and the errors of the last run."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        # WAL without a sync per commit: a killed run keeps every commit (the OS holds it); a crash of the
        # machine may lose the last few, whose Bundles a resume sends again and the server answers with the
        # existing ids (conditional creates). A sync per Bundle cost 8 ms beside a busy PostgreSQL.
        self.db.executescript("""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = NORMAL;
            CREATE TABLE IF NOT EXISTS mapped (type TEXT, source_id TEXT, target_id TEXT,
                                               PRIMARY KEY (type, source_id));
            CREATE TABLE IF NOT EXISTS errors (type TEXT, source_id TEXT, message_id TEXT, line INTEGER, reason TEXT);
        """)

    def target(self, kind: str, source_id: str) -> str | None:
        row = self.db.execute("SELECT target_id FROM mapped WHERE type = ? AND source_id = ?", (kind, source_id))
        found = row.fetchone()
        return found[0] if found else None

    def record(self, kind: str, pairs: list[tuple[str, str]]) -> None:
        with self.db:  # one transaction per Bundle: committed together or not at all
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO mapped VALUES (?, ?, ?)", [(kind, s, t) for s, t in pairs])

    def error(self, kind: str, row: sqlite3.Row, reason: str) -> None:
        self.db.execute("INSERT INTO errors VALUES (?, ?, ?, ?, ?)",
                        (kind, row["source_id"], row["message_id"], row["line"], reason))

    def done(self, kind: str) -> int:
        return self.db.execute("SELECT count(*) FROM mapped WHERE type = ?", (kind,)).fetchone()[0]

    def errors(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT type, source_id, message_id, line, reason FROM errors ORDER BY line")
        return [dict(zip(("type", "source_id", "message_id", "line", "reason"), r, strict=True)) for r in rows]

    def close(self) -> None:
        self.db.close()


@dataclass
class Result:
    migrated: dict[str, int] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.migrated.values()) + len(self.errors)

    @property
    def error_rate_percent(self) -> float:
        return 100.0 * len(self.errors) / self.total if self.total else 0.0


def _batches(rows: Iterator[sqlite3.Row], size: int) -> Iterator[list[sqlite3.Row]]:
    while batch := list(islice(rows, size)):
        yield batch


@dataclass
class Part:
    """One application's resources of one type: what its progress line counts."""

    label: str
    total: int
    done: int = 0

    def skip(self, already: bool) -> bool:
        """Count a resource the checkpoint already has as done; True to leave it out."""
        self.done += already
        return already


# The part, Bundles sent, (row, server id) stored, (row, reason) refused
Sent = tuple[Part, int, list[tuple[sqlite3.Row, str]], list[tuple[sqlite3.Row, str]]]


class Migration:
    """P.8 for the applications in `publishers` (client id -> its FHIR client): every application of the
    export in the runbook, one application when its supplier runs its part alone. `set_origin`: the server
    keeps a transaction's entries as sent, so each carries its publisher's Device from here."""

    def __init__(self, staging: Staging, checkpoint: Checkpoint, publishers: dict[str, FhirClient], kt13_base: str,
                 batch_size: int = BATCH_SIZE, progress: Progress | None = None, concurrency: int = 4,
                 set_origin: bool = True) -> None:
        self.staging, self.checkpoint, self.publishers = staging, checkpoint, publishers
        self.set_origin = set_origin
        self.kt13_base = kt13_base
        self.batch_size = batch_size
        self.concurrency = max(1, concurrency)
        self.progress = progress or (lambda label, done, total: None)
        self.alone = not staging.senders() <= publishers.keys()
        # The match URL of the guide's identifier up to the KT 1.3 id, encoded once per type (urlencode per
        # resource cost more client time than the rest of the mapping).
        self.match_prefix = {kind: f"{kind}?identifier=" + quote(migrated(kind, kt13_reference(kt13_base, kind, "")),
                                                                  safe="") for kind in TYPES_IN_ORDER}
        # What a resource refers to was settled by an earlier type and does not change during the run; the
        # practitioners and activity definitions most tasks refer to are looked up once.
        self.refer = lru_cache(maxsize=8192)(self._refer)

    def match_url(self, kind: str, source_id: str) -> str:
        """`Type?identifier=<system>|<KT 1.3 link>`: the migrated resource by the guide's identifier."""
        return self.match_prefix[kind] + quote(source_id, safe="")

    def _refer(self, kind: str, source_id: str) -> str:
        target = self.checkpoint.target(kind, source_id)
        if target is not None:
            return f"{kind}/{target}"
        if self.alone:  # perhaps another application's, published in its own run
            return self.match_url(kind, source_id)
        raise Unresolved(f"depends on {kind}/{source_id}, which was not migrated")

    def run(self) -> Result:
        start = time.perf_counter()
        self.checkpoint.db.execute("DELETE FROM errors")  # a run retries what failed before
        result = Result()
        excluded = {(r["type"], r["source_id"]): r["reason"] for r in self.staging.excluded()}
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="p8") as pool:
            for kind in TYPES_IN_ORDER:
                in_flight: set[Future[Sent]] = set()
                resumed = self.checkpoint.done(kind) > 0  # a first run has nothing of the type to skip
                for sender, client in sorted(self.publishers.items()):
                    part = Part(f"{sender} {kind}", self.staging.count(kind, sender))
                    pending = (row for row in self.staging.staged(kind, sender)
                               if not part.skip(resumed and self.checkpoint.target(kind, row["source_id"]) is not None)
                               and not self._excluded(kind, row, excluded))
                    for batch in _batches(pending, self.batch_size):
                        # Mapping and the checkpoint stay in this thread; only the HTTP exchange goes to the pool.
                        # The next Bundle is mapped while `concurrency` are in flight and goes out as soon as
                        # one settles, before that one is recorded: the server never waits for this thread.
                        ready = self._prepare(kind, client.domain, batch)
                        done: set[Future[Sent]] = set()
                        if len(in_flight) >= self.concurrency:
                            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                        in_flight.add(pool.submit(self._send, kind, client, part, ready))
                        if failure := self._settle(kind, done, result):
                            # The platform, not the data: the other Bundles in flight settle into the
                            # checkpoint first, so that a resume sends only what never arrived.
                            self._settle(kind, wait(in_flight).done, result)
                            raise failure
                    self.progress(part.label, part.done, part.total)
                if failure := self._settle(kind, in_flight, result):
                    raise failure
                result.migrated[kind] = self.checkpoint.done(kind)
        result.errors = self.checkpoint.errors()
        result.seconds = time.perf_counter() - start
        return result

    def _excluded(self, kind: str, row: sqlite3.Row, excluded: dict[tuple[str, str], str]) -> bool:
        """Left out by validation (a non-blocking finding, e.g. a KT2 profile): into the error list."""
        reason = excluded.get((kind, row["source_id"]))
        if reason is not None:
            self.checkpoint.error(kind, row, reason)
        return reason is not None

    def _entry(self, kind: str, organization: str, row: sqlite3.Row) -> dict[str, Any]:
        # An application's Device and Endpoint have its client id as id.
        origin = f"Device/{row['sender']}" if self.set_origin else None
        resource = to_fhir(kind, row, self.kt13_base, self.refer, organization, origin, f"Endpoint/{row['sender']}")
        # The match URL with its type: HAPI then resolves a Bundle's conditional creates in one query
        # (TransactionProcessor.preFetchConditionalUrls, which needs "Type?param="), not one search each.
        return {"resource": resource, "request": {"method": "POST", "url": kind,
                                                  "ifNoneExist": self.match_url(kind, row["source_id"])}}

    def _prepare(self, kind: str, domain: str, rows: list[sqlite3.Row]) -> list[tuple[sqlite3.Row, dict[str, Any]]]:
        """The Bundle's entries; a row whose reference did not migrate goes to the error list instead."""
        # The domain's Organization, found by the server (an application may not read Organizations).
        organization = "Organization?" + urlencode({"identifier": f"{DOMAIN_SYSTEM}|{domain}"})
        ready = []
        for row in rows:
            try:
                ready.append((row, self._entry(kind, organization, row)))
            except Unresolved as error:
                self.checkpoint.error(kind, row, str(error))
        return ready

    def _send(self, kind: str, client: FhirClient, part: Part, ready: list[tuple[sqlite3.Row, dict[str, Any]]]) -> Sent:
        """One Bundle (in a pool thread); on refusal split it to find the refused resources."""
        if not ready:
            return part, 0, [], []
        response = client.transaction([entry for _, entry in ready])
        if response.status_code == 200:
            locations = [e["response"]["location"].split("/")[1] for e in response.json()["entry"]]
            return part, 1, [(row, target) for (row, _), target in zip(ready, locations, strict=True)], []
        if response.status_code >= 500 or response.status_code in (401, 403):
            raise FhirError(f"P.8 {part.label} Bundle", response)  # the platform, not the data: stop, resume later
        if len(ready) == 1:
            return part, 1, [], [(ready[0][0], f"refused by KT 2.0: {diagnostics(response)}")]
        half = len(ready) // 2
        first, second = (self._send(kind, client, part, ready[:half]),
                         self._send(kind, client, part, ready[half:]))
        return part, 1 + first[1] + second[1], first[2] + second[2], first[3] + second[3]

    def _settle(self, kind: str, done: set[Future[Sent]], result: Result) -> BaseException | None:
        """Record what settled Bundles stored (one checkpoint transaction each) and what they refused; the
        first platform error among them is returned for the caller to stop on."""
        failed = [f.exception() for f in done if f.exception() is not None]
        for future in done:
            if future.exception() is not None:
                continue
            part, bundles, stored, refused = future.result()
            if stored:
                self.checkpoint.record(kind, [(row["source_id"], target) for row, target in stored])
            for row, reason in refused:
                self.checkpoint.error(kind, row, reason)
            result.sent[kind] = result.sent.get(kind, 0) + bundles
            part.done += len(stored) + len(refused)
            self.progress(part.label, part.done, part.total)
        return failed[0] if failed else None
