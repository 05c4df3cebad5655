"""The capacity check's judgement (open-loop load, latency from the scheduled moment), with the request
faked: a server that keeps up, one that falls behind, one that fails requests, one that stalls once."""

import time

from kt2ops.migration.capacity import Capacity, judge_capacity, load
from kt2ops.migration.quality_gate import capacity_request


def _measured(p95_ms, failed=0, achieved_rate=50.0):
    return Capacity(rate=50, seconds=10, sent=500, ok=500 - failed, failed=failed, achieved_rate=achieved_rate,
                    p50_ms=p95_ms / 2, p95_ms=p95_ms, p99_ms=p95_ms, max_ms=p95_ms)


def test_the_peak_is_met_only_without_failures_at_the_rate_and_within_the_p95_limit():
    assert _measured(p95_ms=100).met(p95_limit_ms=100)
    assert not _measured(p95_ms=101).met(p95_limit_ms=100)
    assert not _measured(p95_ms=5, failed=1).met(p95_limit_ms=100)
    assert _measured(p95_ms=5, achieved_rate=47.5).met(p95_limit_ms=100)
    assert not _measured(p95_ms=5, achieved_rate=47.4).met(p95_limit_ms=100)


def test_a_server_that_keeps_up_answers_every_scheduled_request():
    result = load(lambda index: 200, rate=100, seconds=0.5, workers=4)
    assert (result.sent, result.ok, result.failed) == (50, 50, 0)
    assert result.p50_ms <= result.p95_ms <= result.p99_ms <= result.max_ms


def test_a_server_that_falls_behind_shows_it_in_rate_and_latency():
    def slow(index):
        time.sleep(0.05)
        return 200

    # One request at a time and 50 ms each: at most 20 per second, each later than the one before.
    result = load(slow, rate=100, seconds=0.5, workers=1)
    assert result.ok == 50 and result.achieved_rate < 50
    assert result.p95_ms > result.p50_ms and not result.met(p95_limit_ms=10_000)


def test_failed_requests_fail_the_check():
    result = load(lambda index: 503 if index % 10 == 0 else 200, rate=100, seconds=0.3, workers=4)
    assert result.failed == 3 and not result.met(p95_limit_ms=10_000)
    assert result.figures(500)["failed"] == 3


def _attempts(*p95s):
    """A measurement that gives these p95 figures in turn (what load would measure), and the calls made."""
    calls = []

    def measure(request, rate, seconds):
        calls.append((rate, seconds))
        return _measured(p95s[len(calls) - 1])

    return measure, calls


def test_one_stall_is_measured_again_and_reported():
    measure, calls = _attempts(1872.0, 6.0)
    met, figures = judge_capacity(lambda i: 200, rate=50, seconds=10, p95_limit_ms=500, attempts=2, measure=measure)
    assert met and figures["attempt"] == "2 of 2" and calls == [(50, 10), (50, 10)]
    assert [f["p95_ms"] for f in figures["unmet_before"]] == [1872.0] and figures["p95_ms"] == 6.0


def test_a_target_that_cannot_carry_the_peak_fails_every_attempt():
    measure, calls = _attempts(900.0, 800.0, 700.0)
    met, figures = judge_capacity(lambda i: 200, rate=50, seconds=10, p95_limit_ms=500, attempts=3, measure=measure)
    assert not met and figures["attempt"] == "3 of 3" and len(calls) == 3
    assert [f["p95_ms"] for f in figures["unmet_before"]] == [900.0, 800.0] and figures["p95_ms"] == 700.0


def test_a_first_attempt_that_meets_the_peak_is_not_repeated():
    measure, calls = _attempts(6.0, 1872.0)
    met, figures = judge_capacity(lambda i: 200, rate=50, seconds=10, p95_limit_ms=500, attempts=2, measure=measure)
    assert met and figures["attempt"] == "1 of 2" and len(calls) == 1 and "unmet_before" not in figures


class RecordingClient:
    """Stands in for the FHIR client: records each call and answers 200."""

    def __init__(self):
        self.calls = []

    def call(self, method, path, params=None):
        self.calls.append((method, path, params["identifier"].rsplit("|", 1)[1]))
        return type("Answer", (), {"status_code": 200})()


def test_the_load_reads_every_migrated_type_an_application_looks_up_in_turn():
    marks = {"Patient": ["p1", "p2"], "Task": ["t1"], "ActivityDefinition": ["a1"], "Practitioner": ["r1"],
             "RelatedPerson": ["x1"]}
    client = RecordingClient()
    request = capacity_request(client, marks)
    assert [request(i) for i in range(8)] == [200] * 8
    assert client.calls == [("GET", "ActivityDefinition", "a1"), ("GET", "Patient", "p1"),
                            ("GET", "Practitioner", "r1"), ("GET", "Task", "t1"),
                            ("GET", "ActivityDefinition", "a1"), ("GET", "Patient", "p2"),
                            ("GET", "Practitioner", "r1"), ("GET", "Task", "t1")]
