"""Counts and hash totals (runbook Q): the same canonical form of every migrated resource computed from
the KT 1.3 side (the staged export, mapped: profile_check.check_profiles) and from the KT 2.0 side (read
back through FHIR). Server ids differ by nature, so references are replaced by stable keys: a migrated
resource by its KT 1.3 reference, an application's Device by its client id, the domain's Organization by
a fixed key."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import orjson

from kt2ops.migration.client import FhirClient
from kt2ops.migration.mapping import migrated, migration_mark
from kt2ops.migration.migrate import APPLICATION_SYSTEM
from kt2ops.migration.profiles import RESOURCE_ORIGIN, profile_of
from kt2ops.migration.stage import TYPES_IN_ORDER

# Keys shaped as references, so the profile check reads them as the target's (check_profiles).
ORGANIZATION_KEY = "Organization/domain"
SOURCE_TOTALS = "source-totals.sqlite"  # P.8's hash per migrated resource, for the Q gate


def application_key(client_id: str) -> str:
    return f"Device/{client_id}"


def endpoint_key(client_id: str) -> str:
    return f"Endpoint/{client_id}"


def resource_hash(resource: dict[str, Any]) -> str:
    body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


class Totals:
    """Per type, KT 1.3 reference -> hash of the canonical resource, kept in a SQLite file (a large domain's
    worth does not fit in memory); `close` computes the counts and the hash per type (sorted by reference)."""

    def __init__(self, path: Path, fresh: bool = True) -> None:
        if fresh:
            path.unlink(missing_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.executescript("CREATE TABLE IF NOT EXISTS marks (kind TEXT, mark TEXT, digest TEXT, "
                              "PRIMARY KEY (kind, mark)) WITHOUT ROWID; BEGIN")
        self.counts: dict[str, int] = {}
        self.hashes: dict[str, str] = {}
        self._pending: list[tuple[str, str, str]] = []  # written in batches: one statement per row costs

    @classmethod
    def open(cls, path: Path) -> Totals:
        """Totals written by an earlier run."""
        if not path.exists():
            raise FileNotFoundError(f"{path}: hash totals missing")
        return cls(path, fresh=False).close()

    def add(self, kind: str, mark: str, digest: str) -> None:
        self._pending.append((kind, mark, digest))
        if len(self._pending) >= 10_000:
            self._flush()

    def _flush(self) -> None:
        self.db.executemany("INSERT OR REPLACE INTO marks VALUES (?, ?, ?)", self._pending)
        self._pending.clear()

    def write(self) -> None:
        """Everything added, on disk."""
        self._flush()
        if self.db.in_transaction:
            self.db.execute("COMMIT")

    def close(self) -> Totals:
        self.write()
        for kind in TYPES_IN_ORDER:
            digest, count = hashlib.sha256(), 0
            for mark, value in self.db.execute("SELECT mark, digest FROM marks WHERE kind = ? ORDER BY mark",
                                               (kind,)):
                digest.update(f"{chr(10) if count else ''}{mark} {value}".encode())
                count += 1
            self.counts[kind], self.hashes[kind] = count, digest.hexdigest()
        return self

    def marks(self, kind: str, limit: int = -1) -> list[str]:
        """The type's KT 1.3 references in sorted order (the first `limit`)."""
        rows = self.db.execute("SELECT mark FROM marks WHERE kind = ? ORDER BY mark LIMIT ?", (kind, limit))
        return [mark for (mark,) in rows]

    def without(self, marks: set[str], path: Path) -> Totals:
        """A copy at `path` without the given references (e.g. the error list's)."""
        other = Totals(path)
        for kind, mark, digest in self.db.execute("SELECT kind, mark, digest FROM marks"):
            if mark not in marks:
                other.add(kind, mark, digest)
        return other.close()

    @property
    def hash_total(self) -> str:
        return hashlib.sha256(",".join(f"{k}={h}" for k, h in sorted(self.hashes.items())).encode()).hexdigest()

    def differences(self, other: Totals, limit: int = 20) -> list[str]:
        """KT 1.3 references missing on one side or with different content (at most `limit`)."""
        found: list[str] = []
        self.db.execute("ATTACH DATABASE ? AS other", (str(other.path),))
        try:
            for kind in TYPES_IN_ORDER:
                rows = self.db.execute("""
                    SELECT mark, mine.digest, theirs.digest
                      FROM (SELECT mark, digest FROM main.marks WHERE kind = ?1) AS mine
                      FULL JOIN (SELECT mark, digest FROM other.marks WHERE kind = ?1) AS theirs USING (mark)
                     WHERE mine.digest IS NOT theirs.digest ORDER BY mark LIMIT ?2""", (kind, limit - len(found)))
                for mark, mine, theirs in rows:
                    state = "missing on the target" if theirs is None else "not in the source" if mine is None \
                        else "content differs"
                    found.append(f"{kind} {mark}: {state}")
                if len(found) >= limit:
                    break
        finally:
            self.db.execute("DETACH DATABASE other")
        return found

    def as_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "hashes": self.hashes, "hash_total": self.hash_total}

    def release(self) -> None:
        self.db.close()


def _rekey(value: Any, keys: dict[str, str]) -> Any:
    if isinstance(value, dict):
        result = {k: _rekey(v, keys) for k, v in value.items()}
        if isinstance(result.get("reference"), str):
            result["reference"] = keys.get(result["reference"], "unresolved:" + result["reference"])
        return result
    if isinstance(value, list):
        return [_rekey(v, keys) for v in value]
    return value


def undeclared(kind: str, resource: dict[str, Any]) -> list[str]:
    """What production needs of a migrated resource that it lacks: its KT2 profile in meta.profile (every later
    update is refused without), a Device as resource-origin (applications of scope own do not see it, and
    every update of it fails). Which Device: the hash totals compare it with the source."""
    missing = [] if profile_of(kind) in resource.get("meta", {}).get("profile", []) else ["meta.profile"]
    origins = [e for e in resource.get("extension", []) if e.get("url") == RESOURCE_ORIGIN]
    if not any(str(e.get("valueReference", {}).get("reference", "")).startswith("Device/") for e in origins):
        missing.append("resource-origin")
    return missing


def target_totals(client: FhirClient, path: Path, lacking: list[str] | None = None) -> Totals:
    """The migrated resources as the target serves them, read page by page in reference order (so every
    reference points at something already read); kept at `path`. Each one that lacks what production needs
    of it (`undeclared`) is added to `lacking` as `<Type> <KT 1.3 reference>: <what>`."""
    clients = {d["id"]: i["value"] for d in client.search_all("Device", identifier=f"{APPLICATION_SYSTEM}|")
               for i in d.get("identifier", []) if i.get("system") == APPLICATION_SYSTEM}
    keys = {f"Device/{device}": application_key(cid) for device, cid in clients.items()}
    keys.update({f"Endpoint/{cid}": endpoint_key(cid) for cid in clients.values()})  # id = client id
    keys.update({f"Organization/{o['id']}": ORGANIZATION_KEY for o in client.search_all("Organization")})
    totals = Totals(path)
    for kind in TYPES_IN_ORDER:
        for resource in client.search_all(kind, identifier=migrated(kind)):
            mark = migration_mark(resource)
            keys[f"{kind}/{resource['id']}"] = mark
            if lacking is not None and (missing := undeclared(kind, resource)):
                lacking.append(f"{kind} {mark}: no {' and no '.join(missing)}")
            totals.add(kind, mark, resource_hash(_rekey(resource, keys)))
    return totals.close()


def target_counts(client: FhirClient) -> dict[str, int]:
    """Counts of migrated resources per type with FHIR `_summary=count` (works on any FHIR R4 server)."""
    return {kind: client.count(kind, identifier=migrated(kind)) for kind in TYPES_IN_ORDER}
