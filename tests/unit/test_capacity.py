"""The capacity check's judgement (open-loop load, latency from the scheduled moment), with the request
faked: a server that keeps up, one that falls behind, one that fails requests, one that stalls once."""

import time

from kt2ops.migration.capacity import judge_capacity, load
from kt2ops.migration.step import capacity_request


def test_a_server_that_keeps_up_meets_the_peak():
    result = load(lambda index: 200, rate=100, seconds=0.5, workers=4)
    assert result.sent == 50 and result.ok == 50 and result.failed == 0
    assert result.met(p95_limit_ms=1000)


def test_a_server_that_falls_behind_shows_it_in_rate_and_latency():
    def slow(index):
        time.sleep(0.05)
        return 200

    result = load(slow, rate=100, seconds=0.5, workers=1)  # one request at a time: at most 20 per second
    assert result.ok == 50 and result.achieved_rate < 50
    assert result.p95_ms > result.p50_ms and not result.met(p95_limit_ms=10_000)


def test_failed_requests_fail_the_check():
    result = load(lambda index: 503 if index % 10 == 0 else 200, rate=100, seconds=0.3, workers=4)
    assert result.failed == 3 and not result.met(p95_limit_ms=10_000)
    assert result.figures(500)["failed"] == 3


def test_one_stall_is_measured_again_and_reported():
    calls = []

    def stalls_once(index):
        calls.append(index)
        if len(calls) <= 5:  # the first attempt's first requests hit a stall
            time.sleep(0.3)
        return 200

    met, figures = judge_capacity(stalls_once, rate=50, seconds=0.2, p95_limit_ms=100, attempts=2)
    assert met and figures["attempt"] == "2 of 2" and len(calls) == 20
    assert [f["p95_ms"] > 100 for f in figures["unmet_before"]] == [True]


def test_a_target_that_cannot_carry_the_peak_fails_every_attempt():
    def slow(index):
        time.sleep(0.2)
        return 200

    met, figures = judge_capacity(slow, rate=50, seconds=0.2, p95_limit_ms=100, attempts=3)
    assert not met and figures["attempt"] == "3 of 3" and len(figures["unmet_before"]) == 2
    assert figures["p95_ms"] > 100


class RecordingClient:
    """Stands in for the FHIR client: records each call and answers 200."""

    def __init__(self):
        self.calls = []

    def call(self, method, path, params=None):
        self.calls.append((method, path, params["identifier"].rsplit("|", 1)[1]))
        return type("Answer", (), {"status_code": 200})()


def test_the_load_reads_every_migrated_type_an_application_looks_up_in_turn():
    marks = {"Patient": {"p1": "h", "p2": "h"}, "Task": {"t1": "h"}, "ActivityDefinition": {"a1": "h"},
             "Practitioner": {"r1": "h"}, "RelatedPerson": {"x1": "h"}}
    client = RecordingClient()
    request = capacity_request(client, marks)
    assert [request(i) for i in range(8)] == [200] * 8
    assert client.calls == [("GET", "ActivityDefinition", "a1"), ("GET", "Patient", "p1"),
                            ("GET", "Practitioner", "r1"), ("GET", "Task", "t1"),
                            ("GET", "ActivityDefinition", "a1"), ("GET", "Patient", "p2"),
                            ("GET", "Practitioner", "r1"), ("GET", "Task", "t1")]
