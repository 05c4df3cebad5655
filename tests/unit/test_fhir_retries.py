"""The migration's FHIR client rides out a restart of the server or its database (the server faked at the
HTTP boundary): transient answers and dropped connections are retried and reported, a deliberate 503 is
not, and once its patience runs out the last answer stands. The ingress's limit: a limiter's 503 (nginx's
page) is back-pressure, waited out however often it comes, and a pacer keeps requests beneath the limit."""

import threading
import time

import httpx

from kt2ops.migration.client import Pacer
from tests.unit.test_fhir_paging import client_with


def answers(*statuses):
    """A server that answers the token endpoint, then each FHIR call with the next status (None: the
    connection drops), the last one from then on."""
    queue = list(statuses)

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        status = queue.pop(0) if len(queue) > 1 else queue[0]
        if status is None:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(status, json={"resourceType": "OperationOutcome", "issue": []})

    return handle


def test_a_restart_is_ridden_out_and_each_retry_is_reported():
    client = client_with(answers(502, None, 500, 200))
    said = []
    client.on_retry = said.append
    assert client.call("GET", "Patient").status_code == 200
    assert [line.split(": ", 1)[1].split(" for ")[0] for line in said] == \
        ["HTTP 502", "ConnectError: connection refused", "HTTP 500"]
    assert all(line.startswith("app on prd2.example: ") and "retry" in line for line in said)


def test_a_deliberate_503_is_answered_at_once():
    client = client_with(answers(503))
    said = []
    client.on_retry = said.append
    assert client.call("GET", "Patient").status_code == 503 and said == []


def test_when_patience_runs_out_the_last_answer_stands():
    client = client_with(answers(502))
    client.patience = 1.0
    said = []
    client.on_retry = said.append
    assert client.call("GET", "Patient").status_code == 502
    assert 1 <= len(said) <= 3  # 0.5 s, then what is left of the second


LIMITER_PAGE = "<html><head><title>503 Service Temporarily Unavailable</title></head></html>"


def test_the_limiters_503_is_waited_out_however_long_it_lasts_and_told():
    refusals = iter(range(12))

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        if next(refusals, None) is not None:
            return httpx.Response(503, text=LIMITER_PAGE, headers={"Content-Type": "text/html"})
        return httpx.Response(200, json={"resourceType": "Bundle"})

    client = client_with(handle)
    client.patience = 0.1  # a limiter's refusal is not the platform failing: patience does not run out on it
    client.limiter_pause_max = 0.01
    said = []
    client.on_retry = said.append
    assert client.call("GET", "Patient").status_code == 200
    assert client.refused_by_limit == 12
    assert len(said) == 2 and all("the ingress's limit refused GET" in line for line in said)  # every tenth


def test_a_pacer_spaces_the_requests_of_every_thread_sharing_it():
    """20 requests of 4 threads through one pacer at 50/s: the last may start no sooner than 19/50 s after the
    first (sleep never ends early, so this bound holds however the machine is loaded)."""
    pacer, lock, started = Pacer(50), threading.Lock(), []

    def send():
        for _ in range(5):
            pacer.wait()
            with lock:
                started.append(time.monotonic())

    begin = time.monotonic()
    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(started) == 20 and max(started) - begin >= 19 / 50
