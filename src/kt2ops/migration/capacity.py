"""The Q gate's capacity check (the lesson of seed 001: a switch-over that could not carry Monday
morning's peak): an open-loop load at the domain's expected peak requests per second against the target,
for a bounded time. Requests are scheduled at fixed moments whether or not earlier ones have answered, and
latency counts from the scheduled moment, so a server that falls behind shows it in the percentiles
instead of quietly lowering the rate.

One stall of a second or two (a host's daily apt run, a checkpoint) can push a 10-second window's p95 over
its limit although the target carries the peak, so the check measures again, up to a number of attempts;
a target that cannot carry the peak fails every attempt. Every attempt's figures are reported."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

# One request of the load: returns the HTTP status.
Request = Callable[[int], int]


@dataclass(frozen=True)
class Capacity:
    rate: float
    seconds: float
    sent: int
    ok: int
    failed: int
    achieved_rate: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    def met(self, p95_limit_ms: float) -> bool:
        return self.failed == 0 and self.achieved_rate >= 0.95 * self.rate and self.p95_ms <= p95_limit_ms

    def figures(self, p95_limit_ms: float) -> dict[str, float | int]:
        return {"peak_rps": self.rate, "achieved_rps": round(self.achieved_rate, 1), "requests": self.sent,
                "failed": self.failed, "p50_ms": round(self.p50_ms, 1), "p95_ms": round(self.p95_ms, 1),
                "p99_ms": round(self.p99_ms, 1), "max_ms": round(self.max_ms, 1), "p95_limit_ms": p95_limit_ms}


def _percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def load(request: Request, rate: float, seconds: float, workers: int = 32) -> Capacity:
    """Send rate x seconds requests at their scheduled moments; measure latency from those moments."""
    count = max(1, int(rate * seconds))
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.05

    def one(index: int) -> None:
        due = start + index / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        try:
            status = request(index)
        except httpx.HTTPError:
            status = 0
        with lock:
            latencies.append((time.perf_counter() - due) * 1000)
            statuses.append(status)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - start
    ok = sum(1 for s in statuses if 200 <= s < 300)
    return Capacity(rate, seconds, count, ok, count - ok, ok / elapsed, _percentile(latencies, 50),
                    _percentile(latencies, 95), _percentile(latencies, 99), max(latencies))


def judge_capacity(request: Request, rate: float, seconds: float, p95_limit_ms: float,
                   attempts: int = 2, measure: Callable[[Request, float, float], Capacity] = load,
                   ) -> tuple[bool, dict[str, Any]]:
    """Measure (with `load`) until an attempt meets the limits, at most `attempts` times: whether one did,
    and the figures of the last attempt with those of the attempts before it."""
    attempts = max(1, attempts)
    unmet: list[dict[str, float | int]] = []
    for attempt in range(1, attempts + 1):
        result = measure(request, rate, seconds)
        met, figures = result.met(p95_limit_ms), result.figures(p95_limit_ms)
        if met or attempt == attempts:
            return met, {**figures, "attempt": f"{attempt} of {attempts}", **({"unmet_before": unmet} if unmet else {})}
        unmet.append(figures)
    raise AssertionError("unreachable")
