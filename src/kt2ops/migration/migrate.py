"""Runbook P.8 (and M.2): replay a staged domain into the KT 2.0 resource service.

Types go in reference order, in transaction Bundles of conditional creates keyed by the migration
identifier, so a Bundle sent twice creates nothing twice. A checkpoint (SQLite, beside the staging)
records each resource's server id once its Bundle is committed: a killed run resumes where it stopped
and at worst re-sends the one Bundle in flight, which the server then answers with the existing ids.
A Bundle the server refuses is split until the refused resources are found; they go to the error list
(M.3 / Q.1) with the message they came from and the reason, and what depends on them fails with them."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from kt2ops.migration.client import FhirClient, FhirError, diagnostics
from kt2ops.migration.mapping import Unresolved, kt13_reference, migrated, to_fhir
from kt2ops.migration.stage import TYPES_IN_ORDER, Staging

APPLICATION_SYSTEM = "http://vzvz.nl/fhir/NamingSystem/koppeltaal-client-id"  # Device = client id
MIGRATION_APP_ID = "kt2ops-migration"  # the migration's own application (plugins/filter/domains.py)
DOMAIN_SYSTEM = "urn:kt2ops:domain"
# (type, done, total) after every Bundle
Progress = Callable[[str, int, int], None]


class Checkpoint:
    """What is already on the target: KT 1.3 (type, id) -> server id; and the errors of the last run."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.executescript("""
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


def platform_ids(client: FhirClient, domain: str) -> tuple[str | None, dict[str, str]]:
    """The domain's Organization and its applications' Devices (by client id), registered with the domain."""
    organization = next(client.search_all("Organization", identifier=f"{DOMAIN_SYSTEM}|{domain}"), None)
    devices = {i["value"]: f"Device/{d['id']}" for d in client.search_all("Device", identifier=f"{APPLICATION_SYSTEM}|")
               for i in d.get("identifier", []) if i.get("system") == APPLICATION_SYSTEM}
    return (f"Organization/{organization['id']}" if organization else None), devices


def _batches(rows: Iterator[sqlite3.Row], size: int) -> Iterator[list[sqlite3.Row]]:
    while batch := list(islice(rows, size)):
        yield batch


class Migration:
    def __init__(self, staging: Staging, checkpoint: Checkpoint, client: FhirClient, kt13_base: str,
                 batch_size: int = 200, progress: Progress | None = None) -> None:
        self.staging, self.checkpoint, self.client = staging, checkpoint, client
        self.kt13_base = kt13_base
        self.batch_size = batch_size
        self.progress = progress or (lambda kind, done, total: None)
        self.organization: str | None = None
        self.devices: dict[str, str] = {}

    def refer(self, kind: str, source_id: str) -> str:
        target = self.checkpoint.target(kind, source_id)
        if target is None:
            raise Unresolved(f"depends on {kind}/{source_id}, which was not migrated")
        return f"{kind}/{target}"

    def run(self) -> Result:
        start = time.perf_counter()
        self.checkpoint.db.execute("DELETE FROM errors")  # a run retries what failed before
        self.organization, self.devices = platform_ids(self.client, self.client.domain)
        result = Result()
        totals = self.staging.in_scope_counts()
        excluded = {(r["type"], r["source_id"]): r["reason"] for r in self.staging.excluded()}
        for kind in TYPES_IN_ORDER:
            pending = (row for row in self.staging.staged(kind)
                       if self.checkpoint.target(kind, row["source_id"]) is None
                       and not self._excluded(kind, row, excluded))
            for batch in _batches(pending, self.batch_size):
                result.sent[kind] = result.sent.get(kind, 0) + self._publish(kind, batch)
                self.progress(kind, self.checkpoint.done(kind), totals[kind])
            result.migrated[kind] = self.checkpoint.done(kind)
            self.progress(kind, result.migrated[kind], totals[kind])
        result.errors = self.checkpoint.errors()
        result.seconds = time.perf_counter() - start
        return result

    def _excluded(self, kind: str, row: sqlite3.Row, excluded: dict[tuple[str, str], str]) -> bool:
        """Left out by validation (a non-blocking finding, e.g. a KT2 profile): into the error list."""
        reason = excluded.get((kind, row["source_id"]))
        if reason is not None:
            self.checkpoint.error(kind, row, reason)
        return reason is not None

    def _entry(self, kind: str, row: sqlite3.Row) -> dict[str, Any]:
        mark = kt13_reference(self.kt13_base, kind, row["source_id"])
        sender = row["sender"]  # an application's Endpoint has its client id as id, like its Device
        resource = to_fhir(kind, row, self.kt13_base, self.refer, self.organization, self.devices.get(sender),
                           f"Endpoint/{sender}" if sender in self.devices else None)
        return {"resource": resource, "request": {"method": "POST", "url": kind,
                                                  "ifNoneExist": urlencode({"identifier": migrated(kind, mark)})}}

    def _publish(self, kind: str, rows: list[sqlite3.Row]) -> int:
        """Send one Bundle; on refusal split it to find the refused resources. Returns Bundles sent."""
        ready: list[tuple[sqlite3.Row, dict[str, Any]]] = []
        for row in rows:
            try:
                ready.append((row, self._entry(kind, row)))
            except Unresolved as error:
                self.checkpoint.error(kind, row, str(error))
        if not ready:
            return 0
        response = self.client.transaction([entry for _, entry in ready])
        if response.status_code == 200:
            locations = [e["response"]["location"].split("/")[1] for e in response.json()["entry"]]
            self.checkpoint.record(kind, [(row["source_id"], target)
                                          for (row, _), target in zip(ready, locations, strict=True)])
            return 1
        if response.status_code >= 500 or response.status_code in (401, 403):
            raise FhirError(f"P.8 {kind} Bundle", response)  # the platform, not the data: stop, resume later
        if len(ready) == 1:
            self.checkpoint.error(kind, ready[0][0], f"refused by KT 2.0: {diagnostics(response)}")
            return 1
        half = len(ready) // 2
        return 1 + self._publish(kind, [r for r, _ in ready[:half]]) + self._publish(kind, [r for r, _ in ready[half:]])
