"""Rollback R (and M.5, S.1): remove a domain's migrated content from a KT 2.0 environment."""

from __future__ import annotations

from kt2ops.migration.client import FhirClient, FhirError
from kt2ops.migration.mapping import migrated
from kt2ops.migration.stage import TYPES_IN_ORDER


def remove_migrated(client: FhirClient, batch_size: int = 200) -> dict[str, int]:
    """Rollback R's first part: delete every resource carrying the migration identifier from the target,
    dependents first, in transaction Bundles. Returns the counts removed per type."""
    return {kind: delete_matching(client, kind, migrated(kind), f"R removing migrated {kind}", batch_size)
            for kind in reversed(TYPES_IN_ORDER)}


def delete_matching(client: FhirClient, kind: str, identifier: str, what: str, batch_size: int = 200) -> int:
    """Delete every resource of the type that the identifier search finds, in transaction Bundles; returns
    how many. `what` names the work in an error."""
    # Collect the ids first: deleting while paging would shift the pages.
    ids = [r["id"] for r in client.search_all(kind, identifier=identifier)]
    for start in range(0, len(ids), batch_size):
        response = client.transaction([{"request": {"method": "DELETE", "url": f"{kind}/{i}"}}
                                       for i in ids[start:start + batch_size]])
        if response.status_code != 200:
            raise FhirError(what, response)
    return len(ids)
