"""How long a domain's window needs: P.8 at the rate that will apply on the target, the window's other steps,
and room for rollback R.

The rate comes from the domain's trial migration (M.2's report: its measured rate, capped by what the
target's ingress limit lets through) or, before the trial, from K.3's expected counts at the target's
measured capacity (`kt2_migration_capacity`, resources/s without the limit) or what its limit lets through.
A target with an ingress limit is planned with P.8L's exemption unless the domain says
`migration.limit_exempt: false` (the runbook's workflow runs P.8L)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from kt2ops.migration.migrate import limited_rate

DEFAULT_SETTINGS = {"monitoring_days": 14, "rollback_minutes": 60, "steps_minutes": 45}


@dataclass(frozen=True)
class Estimate:
    resources: int | None
    seconds: float | None  # P.8 alone; None when nothing says how long
    exempt: bool  # P.8 runs with P.8L's exemption from the ingress limit
    basis: str  # where the figure comes from, in words

    @property
    def rate(self) -> float | None:
        return self.resources / self.seconds if self.resources and self.seconds else None


def estimate(doc: dict[str, Any], target: dict[str, Any], capacity: float | None,
             trial: dict[str, Any] | None) -> Estimate:
    limit = target.get("ingress_limit")
    exempt = bool(limit) and doc["migration"].get("limit_exempt", True)
    how = "with P.8L's exemption" if exempt else (f"under {target['id']}'s limit of {limit['rate']} requests/s"
                                                   if limit else "(no ingress limit)")
    if trial:
        seconds = trial.get("estimated_production_seconds_exempt" if exempt else "estimated_production_seconds")
        return Estimate(trial.get("expected_production_resources"), seconds, exempt,
                        f"trial migration M.2 of {trial.get('finished', '?')[:10]}: {trial.get('resources_per_second')}"
                        f" resources/s on {trial.get('environment')}, error rate {trial.get('error_rate_percent')} %, "
                        f"{how}")
    counts = doc["migration"].get("expected_counts") or {}
    resources = sum(counts.values()) or None
    if resources is None:
        return Estimate(None, None, exempt, "no trial migration (M.2) and no expected counts (K.3)")
    rates = [r for r in (capacity, None if exempt or not limit else limited_rate(limit["rate"])) if r]
    if not rates:
        return Estimate(resources, None, exempt, f"no measured capacity of {target['id']} "
                                                 "(kt2_migration_capacity) to estimate K.3's counts with")
    rate = min(rates)
    return Estimate(resources, round(resources / rate, 1), exempt,
                    f"K.3's expected counts at {rate:.0f} resources/s {how} (no trial migration yet)")


def window_need(estimate: Estimate, settings: dict[str, Any]) -> float | None:
    """Seconds of a maintenance window the domain's migration takes, rollback margin included, in whole
    minutes (a plan is read in minutes)."""
    if estimate.seconds is None:
        return None
    return 60 * (math.ceil(estimate.seconds / 60) + settings["steps_minutes"] + settings["rollback_minutes"])
