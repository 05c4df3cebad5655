"""The runbook's phases, automated steps and recorded decisions (steps.yml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    en: str
    playbook: str
    requires: tuple[str, ...]
    disruptive: bool = False
    undo: bool = False
    decisions: tuple[tuple[str, str], ...] = ()  # (decision, value) recorded before it may run
    trial: bool = False  # runs on the domain's trial environment (its copy of production)


@dataclass(frozen=True)
class Decision:
    id: str
    title: str
    en: str
    values: tuple[str, ...]
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalogue:
    phases: tuple[dict[str, str], ...]
    steps: dict[str, Step] = field(default_factory=dict)
    decisions: dict[str, Decision] = field(default_factory=dict)

    def step(self, step_id: str) -> Step:
        if step_id not in self.steps:
            raise KeyError(f"unknown runbook step {step_id!r}; automated steps: {', '.join(self.steps)}")
        return self.steps[step_id]


@cache
def catalogue() -> Catalogue:
    data = yaml.safe_load(resources.files("kt2ops.runbook").joinpath("steps.yml").read_text(encoding="utf-8"))
    steps = {s["id"]: Step(s["id"], s["title"], s["en"], s["playbook"], tuple(s["requires"]),
                           s.get("disruptive", False), s.get("undo", False),
                           tuple(s.get("decisions", {}).items()), s.get("trial", False)) for s in data["steps"]}
    decisions = {k: Decision(**{"id": k, **v, "values": tuple(v["values"]), "roles": tuple(v.get("roles", ()))})
                 for k, v in data["decisions"].items()}
    return Catalogue(tuple(data["phases"]), steps, decisions)
