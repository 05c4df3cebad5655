"""Counts and hash totals (runbook Q): the same canonical form of every migrated resource computed from
the KT 1.3 side (the staged export, mapped) and from the KT 2.0 side (read back through FHIR). Server
ids differ by nature, so references are replaced by stable keys: a migrated resource by its KT 1.3
reference, an application's Device by its client id, the domain's Organization by a fixed key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from kt2ops.migration.client import FhirClient
from kt2ops.migration.mapping import kt13_reference, migrated, migration_mark, to_fhir
from kt2ops.migration.migrate import APPLICATION_SYSTEM
from kt2ops.migration.stage import TYPES_IN_ORDER, Staging

ORGANIZATION_KEY = "organization"


def application_key(client_id: str) -> str:
    return f"application:{client_id}"


def endpoint_key(client_id: str) -> str:
    return f"endpoint:{client_id}"


def resource_hash(resource: dict[str, Any]) -> str:
    body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass
class Totals:
    counts: dict[str, int] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    marks: dict[str, dict[str, str]] = field(default_factory=dict)  # type -> KT 1.3 reference -> hash

    def add(self, kind: str, mark: str, digest: str) -> None:
        self.marks.setdefault(kind, {})[mark] = digest

    def close(self) -> Totals:
        for kind in TYPES_IN_ORDER:
            found = self.marks.get(kind, {})
            self.counts[kind] = len(found)
            lines = "\n".join(f"{mark} {digest}" for mark, digest in sorted(found.items()))
            self.hashes[kind] = hashlib.sha256(lines.encode()).hexdigest()
        return self

    @property
    def hash_total(self) -> str:
        return hashlib.sha256(",".join(f"{k}={h}" for k, h in sorted(self.hashes.items())).encode()).hexdigest()

    def differences(self, other: Totals, limit: int = 20) -> list[str]:
        """KT 1.3 references missing on one side or with different content (at most `limit`)."""
        found: list[str] = []
        for kind in TYPES_IN_ORDER:
            mine, theirs = self.marks.get(kind, {}), other.marks.get(kind, {})
            for mark in sorted(mine.keys() | theirs.keys()):
                if mine.get(mark) != theirs.get(mark):
                    state = "missing on the target" if mark not in theirs else \
                        "not in the source" if mark not in mine else "content differs"
                    found.append(f"{kind} {mark}: {state}")
                    if len(found) >= limit:
                        return found
        return found

    def as_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "hashes": self.hashes, "hash_total": self.hash_total}


def source_totals(staging: Staging, kt13_base: str, skip: set[tuple[str, str]] = frozenset()) -> Totals:
    """What the target should hold: every in-scope resource, mapped, with the origin of the application
    that sent it (which publishes it), except those in `skip` (type, KT 1.3 id: the error list)."""
    totals = Totals()
    for kind in TYPES_IN_ORDER:
        for row in staging.staged(kind):
            if (kind, row["source_id"]) in skip:
                continue
            resource = to_fhir(kind, row, kt13_base, lambda k, s: kt13_reference(kt13_base, k, s),
                               ORGANIZATION_KEY, application_key(row["sender"]), endpoint_key(row["sender"]))
            totals.add(kind, kt13_reference(kt13_base, kind, row["source_id"]), resource_hash(resource))
    return totals.close()


def _rekey(value: Any, keys: dict[str, str]) -> Any:
    if isinstance(value, dict):
        result = {k: _rekey(v, keys) for k, v in value.items()}
        if isinstance(result.get("reference"), str):
            result["reference"] = keys.get(result["reference"], "unresolved:" + result["reference"])
        return result
    if isinstance(value, list):
        return [_rekey(v, keys) for v in value]
    return value


def target_totals(client: FhirClient) -> Totals:
    """The migrated resources as the target serves them, read page by page in reference order (so every
    reference points at something already read)."""
    clients = {d["id"]: i["value"] for d in client.search_all("Device", identifier=f"{APPLICATION_SYSTEM}|")
               for i in d.get("identifier", []) if i.get("system") == APPLICATION_SYSTEM}
    keys = {f"Device/{device}": application_key(cid) for device, cid in clients.items()}
    keys.update({f"Endpoint/{cid}": endpoint_key(cid) for cid in clients.values()})  # id = client id
    keys.update({f"Organization/{o['id']}": ORGANIZATION_KEY for o in client.search_all("Organization")})
    totals = Totals()
    for kind in TYPES_IN_ORDER:
        for resource in client.search_all(kind, identifier=migrated(kind)):
            mark = migration_mark(resource)
            keys[f"{kind}/{resource['id']}"] = mark
            totals.add(kind, mark, resource_hash(_rekey(resource, keys)))
    return totals.close()


def target_counts(client: FhirClient) -> dict[str, int]:
    """Counts of migrated resources per type with FHIR `_summary=count` (works on any FHIR R4 server)."""
    return {kind: client.count(kind, identifier=migrated(kind)) for kind in TYPES_IN_ORDER}
