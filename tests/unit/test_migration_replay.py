"""P.8's replay with several Bundles in flight (the server faked at the HTTP boundary): every resource once,
the types in reference order, and a platform error stops the run with what settled in the checkpoint."""

import threading
import time
from types import SimpleNamespace

import pytest

from kt2ops.migration.client import FhirError
from kt2ops.migration.migrate import Checkpoint, Migration
from kt2ops.migration.stage import TYPES_IN_ORDER
from tests.unit.test_migration_validation import KT13, RecordingTarget, base_export, patient, stage


class SlowTarget(RecordingTarget):
    """Answers after a pause, counting how many Bundles it holds at once; `fail_at` answers 503 there."""

    def __init__(self, fail_at: int | None = None):
        super().__init__()
        self.lock, self.holding, self.most, self.calls, self.fail_at = threading.Lock(), 0, 0, 0, fail_at

    def transaction(self, entries):
        with self.lock:
            self.calls += 1
            call = self.calls
            self.holding += 1
            self.most = max(self.most, self.holding)
        time.sleep(0.02)
        with self.lock:
            self.holding -= 1
        if call == self.fail_at:
            return SimpleNamespace(status_code=503, text="down", json=lambda: {}, headers={})
        with self.lock:
            return super().transaction(entries)


def many_patients(tmp_path, count=40):
    export = base_export()
    for n in range(3, count + 3):
        export.add(patient(n))
    return stage(tmp_path, export)


def test_bundles_of_a_type_go_in_parallel_and_the_types_in_reference_order(tmp_path):
    target = SlowTarget()
    result = Migration(many_patients(tmp_path), Checkpoint(tmp_path / "cp.sqlite"), target, KT13,
                       batch_size=5, concurrency=4).run()
    assert result.errors == [] and result.migrated["Patient"] == 42
    assert target.most == 4  # bounded: never more than asked, and more than one
    kinds = [r["resourceType"] for r in target.sent]
    assert kinds == sorted(kinds, key=TYPES_IN_ORDER.index)  # no Task before the last Patient was stored
    marks = [i["value"] for r in target.sent for i in r["identifier"] if i.get("use") == "temp"]
    assert len(marks) == len(set(marks)) == sum(result.migrated.values())


def test_a_platform_error_stops_the_run_and_a_resume_sends_only_what_did_not_settle(tmp_path):
    staging = many_patients(tmp_path)
    failing = SlowTarget(fail_at=4)
    with pytest.raises(FhirError, match=r"P\.8 Patient Bundle"):
        Migration(staging, Checkpoint(tmp_path / "cp.sqlite"), failing, KT13, batch_size=5, concurrency=3).run()
    stored = len(failing.sent)
    again = SlowTarget()
    result = Migration(staging, Checkpoint(tmp_path / "cp.sqlite"), again, KT13, batch_size=5, concurrency=3).run()
    assert result.migrated["Patient"] == 42 and result.errors == []
    assert stored + len(again.sent) == sum(result.migrated.values())  # nothing settled is sent twice
