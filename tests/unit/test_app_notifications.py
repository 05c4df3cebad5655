"""The reference application's reading after a notification: every new resource fires its trigger functions
once, an update fires nothing, and what was read before (also at the cursor's own instant) is not read again;
the platform's search is faked at the client boundary."""

from urllib.parse import unquote

from kt2ref.apps.app import TRIGGER_EVENTS
from kt2ref.apps.notifications import Notifications

APP = {"domain": "d", "id": "ecd", "name": "ECD", "triggers": ["welcome_mail", "task_notification"]}


class FakePlatform:
    """Answers a `_lastUpdated=ge<instant>` search with the stored resources from that instant, oldest first."""

    def __init__(self):
        self.resources, self.searches = [], []

    def add(self, type_, id_, at, version="1"):
        self.resources.append({"resourceType": type_, "id": id_, "meta": {"lastUpdated": at, "versionId": version}})

    def search(self, path):
        self.searches.append(path)
        type_, query = path.split("?", 1)
        since = unquote(query.split("_lastUpdated=ge", 1)[1].split("&", 1)[0])
        return sorted((r for r in self.resources if r["resourceType"] == type_ and r["meta"]["lastUpdated"] >= since),
                      key=lambda r: r["meta"]["lastUpdated"])


def _notifications(tmp_path, platform):
    fired = []
    notifications = Notifications(tmp_path, "https://x:8443/notify", lambda app: platform,
                                  lambda app, event, resource: fired.append((event, resource["id"])) or 1,
                                  TRIGGER_EVENTS)
    return notifications, fired


def test_new_resources_fire_once_and_updates_never(tmp_path):
    platform = FakePlatform()
    notifications, fired = _notifications(tmp_path, platform)
    notifications._save(APP, "Patient", {"at": "2026-01-01T00:00:00.000+00:00", "ids": []})
    platform.add("Patient", "a", "2026-01-01T10:00:00.000+00:00")
    platform.add("Patient", "b", "2026-01-01T10:00:00.000+00:00")  # the same instant as a
    platform.add("Patient", "c", "2026-01-01T11:00:00.000+00:00", version="2")  # updated, not new
    notifications._catch_up(APP, "Patient")
    assert fired == [("client_created", "a"), ("client_created", "b")]

    platform.add("Patient", "d", "2026-01-01T11:00:00.000+00:00")  # at the cursor's instant, after it was read
    notifications._catch_up(APP, "Patient")
    assert fired[2:] == [("client_created", "d")]
    notifications._catch_up(APP, "Patient")  # nothing new: nothing fires
    assert len(fired) == 3


def test_the_cursor_outlives_the_service(tmp_path):
    platform = FakePlatform()
    first, fired = _notifications(tmp_path, platform)
    first._save(APP, "Task", {"at": "2026-01-01T00:00:00.000+00:00", "ids": []})
    platform.add("Task", "t1", "2026-01-02T00:00:00.000+00:00")
    first._catch_up(APP, "Task")
    again, fired_again = _notifications(tmp_path, platform)  # restarted: reads its cursor from the state file
    again._catch_up(APP, "Task")
    assert fired == [("task_assigned", "t1")] and fired_again == []
    assert "2026-01-02T00%3A00%3A00.000%2B00%3A00" in platform.searches[-1]  # the offset's + encoded


def test_an_application_subscribes_to_the_types_its_triggers_react_to(tmp_path):
    notifications, _ = _notifications(tmp_path, FakePlatform())
    assert notifications.types(APP) == ["Patient", "Task"]
    assert notifications.types({**APP, "triggers": ["welcome_mail"]}) == ["Patient"]
    assert notifications.endpoint(APP) == "https://x:8443/notify/d/ecd"
