"""An application's side of KT 2.0's notifications: it subscribes (rest-hook, no payload) to the types its
trigger functions react to and, on each notification, searches again for what changed since it last looked;
a resource new to the platform fires its trigger functions (those switched on at that moment)."""

import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kt2ref.client import KT2_PROFILE_BASE, Kt2Client, Refused

# The resource type whose creation is each event of a trigger function.
EVENT_TYPES = {"client_created": "Patient", "task_assigned": "Task"}
PAGE = 500


class Notifications:
    def __init__(self, state_dir: Path, endpoint_base: str, client: Callable[[dict[str, Any]], Kt2Client],
                 fire: Callable[[dict[str, Any], str, dict[str, Any]], int], events: dict[str, str]) -> None:
        self.path = state_dir / "notifications.json"
        self.endpoint_base = endpoint_base.rstrip("/")
        self.client = client
        self.fire = fire
        self.events = events  # trigger function -> event
        self.lock = threading.Lock()
        self.wake: dict[tuple[str, str], threading.Event] = {}

    def types(self, app: dict[str, Any]) -> list[str]:
        """What the application's trigger functions react to, e.g. ['Patient', 'Task']."""
        return sorted({EVENT_TYPES[self.events[t]] for t in app["triggers"] if t in self.events})

    def endpoint(self, app: dict[str, Any]) -> str:
        return f"{self.endpoint_base}/{app['domain']}/{app['id']}"

    # --- subscribing --------------------------------------------------------------------------------

    def subscribe(self, app: dict[str, Any], check: bool) -> tuple[list[str], list[str]]:
        """Make sure the application has an active or requested Subscription per type (its own, found by its
        endpoint); answers the criteria it had and has."""
        client = self.client(app)
        endpoint = self.endpoint(app)
        had = sorted(s["criteria"] for s in client.search("Subscription?_count=100")
                     if s["channel"].get("endpoint") == endpoint and s["status"] in ("requested", "active"))
        wanted = [f"{t}?" for t in self.types(app)]
        for criteria in (c for c in wanted if c not in had):
            if check:
                continue
            # The cursor first: nothing that exists before the Subscription fires a trigger function.
            self._save(app, criteria[:-1], {"at": _now(), "ids": []})
            response = client.fhir("POST", "Subscription", json={
                "resourceType": "Subscription", "meta": {"profile": [KT2_PROFILE_BASE + "Subscription"]},
                "status": "requested", "reason": f"trigger functions of {app['id']}", "criteria": criteria,
                "channel": {"type": "rest-hook", "endpoint": endpoint}})
            if response.status_code != 201:
                raise Refused(f"the Subscription to {criteria}", response)
        return had, sorted(set(had) | set(wanted))

    # --- being notified -----------------------------------------------------------------------------

    def notified(self, app: dict[str, Any]) -> None:
        """Wake the application's reader; notifications arriving while it reads make it read once more."""
        key = (app["domain"], app["id"])
        with self.lock:
            if key not in self.wake:
                self.wake[key] = threading.Event()
                threading.Thread(target=self._reader, args=(app, self.wake[key]), daemon=True,
                                 name=f"notified-{app['id']}").start()
            self.wake[key].set()

    def _reader(self, app: dict[str, Any], wake: threading.Event) -> None:
        while True:
            wake.wait()
            wake.clear()
            for resource_type in self.types(app):
                try:
                    self._catch_up(app, resource_type)
                except (OSError, Refused) as err:  # the next notification tries again
                    print(f"{app['domain']}/{app['id']}: reading {resource_type} failed: {err}", flush=True)

    def _catch_up(self, app: dict[str, Any], resource_type: str) -> None:
        """Everything of the type updated since the cursor, oldest first; a first version is a new one."""
        cursor = self._load(app, resource_type) or {"at": _now(), "ids": []}
        event = next(e for e, t in EVENT_TYPES.items() if t == resource_type)
        path = f"{resource_type}?_lastUpdated=ge{quote(cursor['at'])}&_sort=_lastUpdated&_count={PAGE}"
        moved = False
        for resource in self.client(app).search(path):
            meta = resource["meta"]
            if meta["lastUpdated"] == cursor["at"] and resource["id"] in cursor["ids"]:
                continue
            fired = self.fire(app, event, resource) if meta.get("versionId") == "1" else 0
            if meta["lastUpdated"] != cursor["at"]:
                cursor = {"at": meta["lastUpdated"], "ids": []}
            cursor["ids"].append(resource["id"])
            moved = True
            if fired:  # kept at once: a restart does not send it again
                self._save(app, resource_type, cursor)
        if moved:  # what fired nothing (triggers off, updates) is kept once, not a file write per resource
            self._save(app, resource_type, cursor)

    # --- the cursors (a small JSON file) ------------------------------------------------------------

    def _states(self) -> dict[str, Any]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def _load(self, app: dict[str, Any], resource_type: str) -> dict[str, Any] | None:
        with self.lock:
            return self._states().get(f"{app['domain']}/{app['id']}/{resource_type}")

    def _save(self, app: dict[str, Any], resource_type: str, cursor: dict[str, Any]) -> None:
        with self.lock:
            states = self._states()
            states[f"{app['domain']}/{app['id']}/{resource_type}"] = cursor
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(states, indent=1, sort_keys=True))
            os.replace(tmp, self.path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
