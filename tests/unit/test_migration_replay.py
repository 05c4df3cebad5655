"""P.8's replay with several Bundles in flight (the server faked at the HTTP boundary): every resource once,
the types in reference order, and a platform error stops the run with what settled in the checkpoint."""

import threading
import time
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from kt2ops.migration.client import FhirError
from kt2ops.migration.migrate import Checkpoint, Migration, bundle_size
from kt2ops.migration.profiles import RESOURCE_ORIGIN as ORIGIN
from kt2ops.migration.profiles import profile_of
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
    result = Migration(many_patients(tmp_path), Checkpoint(tmp_path / "cp.sqlite"), {"ecd": target}, KT13,
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
    checkpoint = tmp_path / "cp.sqlite"
    with pytest.raises(FhirError, match=r"P\.8 ecd Patient Bundle"):
        Migration(staging, Checkpoint(checkpoint), {"ecd": failing}, KT13, batch_size=5, concurrency=3).run()
    stored = len(failing.sent)
    again = SlowTarget()
    result = Migration(staging, Checkpoint(checkpoint), {"ecd": again}, KT13, batch_size=5, concurrency=3).run()
    assert result.migrated["Patient"] == 42 and result.errors == []
    assert stored + len(again.sent) == sum(result.migrated.values())  # nothing settled is sent twice


def _origins_and_references(sent):
    sent = sorted(sent, key=lambda r: r["resourceType"] == "ActivityDefinition")  # the module's last
    return ([e for r in sent for e in r.get("extension", []) if e["url"] == ORIGIN],
            [e["valueReference"]["reference"] for r in sent for e in r.get("extension", [])
             if e["url"].endswith("/instantiates")])


@pytest.mark.parametrize("set_origin", [True, False], ids=["reference-rules", "kt-rules"])
def test_each_application_publishes_its_own_data_with_its_own_client_and_device(tmp_path, set_origin):
    """Under production's rules the server keeps a transaction's entries as sent, so P.8 names each publisher's
    Device; under KT's rules the server stamps it and refuses a client's."""
    staging = stage(tmp_path, base_export("ecd", offered_by="module"))
    ecd, module = RecordingTarget(), RecordingTarget()
    result = Migration(staging, Checkpoint(tmp_path / "cp.sqlite"), {"ecd": ecd, "module": module}, KT13,
                       set_origin=set_origin).run()
    assert result.errors == [] and sum(result.migrated.values()) == 5
    assert [r["resourceType"] for r in module.sent] == ["ActivityDefinition"]
    assert sorted(r["resourceType"] for r in ecd.sent) == ["Patient", "Patient", "Practitioner", "Task"]
    origins, instantiates = _origins_and_references(ecd.sent + module.sent)
    expected = [{"url": ORIGIN, "valueReference": {"reference": "Device/ecd"}}] * 4 + \
        [{"url": ORIGIN, "valueReference": {"reference": "Device/module"}}]
    assert origins == (expected if set_origin else [])
    assert all(r["meta"]["profile"] == [profile_of(r["resourceType"])] for r in ecd.sent + module.sent)
    assert instantiates == ["ActivityDefinition/x0"]  # the module's id, from the checkpoint
    patient = next(r for r in ecd.sent if r["resourceType"] == "Patient")
    assert patient["managingOrganization"]["reference"].startswith("Organization?identifier=")


def test_a_supplier_alone_refers_to_another_applications_data_by_its_migration_identifier(tmp_path):
    staging = stage(tmp_path, base_export("ecd", offered_by="module"))
    ecd = RecordingTarget()
    result = Migration(staging, Checkpoint(tmp_path / "cp.sqlite"), {"ecd": ecd}, KT13).run()
    assert result.errors == [] and "ActivityDefinition" not in {r["resourceType"] for r in ecd.sent}
    _, [instantiates] = _origins_and_references(ecd.sent)
    assert instantiates == ("ActivityDefinition?identifier=http%3A%2F%2Fkoppeltaal.nl%2Fmigration%2Fidentifier"
                            "%2FActivityDefinition%7C" + quote(f"{KT13}/ActivityDefinition/ad1", safe=""))


def test_bundles_grow_under_an_ingress_limit_to_keep_the_server_busy():
    assert bundle_size(None) == 50
    assert bundle_size(5) == 140  # 5 requests/s x 140 = the ~700 resources/s HAPI takes in the lab
    assert bundle_size(1) == 500 and bundle_size(100) == 50  # bounded on both sides
