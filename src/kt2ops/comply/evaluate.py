"""Judgement, the second half of `kt2 comply`: the Rego policies in policies/ judge an evidence document
(in-process, with regopy), per control and environment; waivers and a previous scan are applied after.

The same evidence always gives the same verdicts: dates are the evidence's own, never today's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from regopy import Interpreter
from regopy.rego_shared import RegoError

from kt2ops.comply.certificates import pki_certificates
from kt2ops.errors import Kt2OpsError
from kt2ops.paths import PROJECT_ROOT, SCHEMAS

POLICIES = PROJECT_ROOT / "policies"
STATUSES = ("pass", "fail", "waived", "not_applicable")


class ComplyError(Kt2OpsError, RuntimeError):
    """Bad input (catalogue, policy, waiver file, baseline); the message names the file and field."""


@dataclass(frozen=True)
class Control:
    id: str
    policy: str
    title_nl: str
    title_en: str
    severity: str
    applies_to: tuple[str, ...]


def catalogue(policies: Path = POLICIES) -> list[Control]:
    data = yaml.safe_load((policies / "catalogue.yml").read_text())
    return [Control(**{**c, "applies_to": tuple(c["applies_to"])}) for c in data["controls"]]


def interpreter(policies: Path = POLICIES) -> Interpreter:
    """An interpreter with every policy module loaded (tests excluded)."""
    rego = Interpreter()
    for module in sorted(policies.glob("*.rego")):
        if not module.stem.endswith("_test"):
            try:
                rego.add_module(module.name, module.read_text())
            except RegoError as exc:
                raise ComplyError(f"{module}: the policy does not compile: {_first_lines(exc)}") from exc
    return rego


def _first_lines(exc: Exception) -> str:
    # rego-cpp's message is its whole syntax tree; keep what went wrong.
    messages = re.findall(r"\(errormsg \d+:([^)]*)\)", str(exc))
    return "; ".join(dict.fromkeys(messages)) or str(exc)[:300]


_UNSAFE = str.maketrans({'"': "'", "\\": "/", "\n": " ", "\r": " ", "\t": " "})


def _leaves(value: Any, convert: Callable[[Any], Any]) -> Any:
    """`value` with `convert` applied to every scalar (dict keys included)."""
    if isinstance(value, dict):
        return {_leaves(k, convert): _leaves(v, convert) for k, v in value.items()}
    if isinstance(value, list):
        return [_leaves(v, convert) for v in value]
    return convert(value)


def rego_safe(value: Any) -> Any:
    """The evidence as Rego may see it: rego-cpp writes strings back without escaping quotes and
    backslashes, so its answer would not parse; they become ' and / (the same for every run)."""
    return _leaves(value, lambda v: v.translate(_UNSAFE) if isinstance(v, str) else v)


def findings(rego: Interpreter, policy: str) -> list[dict[str, str]]:
    """The findings of one policy on the input already set (set once: converting it is the cost)."""
    try:
        output = rego.query(f"x := data.kt2.controls.{policy}.findings")
    except RegoError as exc:
        raise ComplyError(f"policies/{policy}.rego: {_first_lines(exc)}") from exc
    if not output.results or "x" not in output.results[0].bindings:  # no result, or no findings rule
        raise ComplyError(f"policies/{policy}.rego: evaluation failed: {output}")
    return _sorted(output.results[0].bindings["x"])


def every_findings(rego: Interpreter, policies: list[str]) -> dict[str, list[dict[str, str]]]:
    """The findings of every policy, in one query: each query pays rego-cpp's fixed cost (0.03-0.05 s), a
    dozen of them twice what all the rules cost together. When it fails, each policy on its own names the
    one that does."""
    try:
        output = rego.query("x := data.kt2.controls")
        answered = output.results[0].bindings["x"] if output.results else {}
    except RegoError:
        answered = {}
    if not all("findings" in answered.get(policy, {}) for policy in policies):
        return {policy: findings(rego, policy) for policy in policies}
    return {policy: _sorted(answered[policy]["findings"]) for policy in policies}


def _sorted(found: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(found, key=lambda f: (f["environment"], f["host"], f["message"]))


def shared_pki(pki_root: Path, env_id: str) -> list[str]:
    """Before a deploy: what of `env_id`'s CA, certificates and keys on the control machine another
    environment uses too, judged by the same B.6 policy as `kt2 comply`."""
    env_ids = sorted(p.name for p in pki_root.iterdir() if p.is_dir()) if pki_root.is_dir() else []
    evidence = {"environments": {env_id: {"hosts": {}}}, "pki": pki_certificates(pki_root, env_ids)}
    rego = interpreter()
    rego.set_input(evidence)
    return [f["message"] for f in findings(rego, "b6_certificates") if "shares" in f["message"]]


def judge(evidence: dict[str, Any], waivers: list[dict[str, Any]] | None = None,
          policies: Path = POLICIES) -> dict[str, Any]:
    """Verdicts per control and environment: pass, fail, waived or not_applicable, with the findings
    behind each and the waiver (valid or expired) that concerns it."""
    rego = interpreter(policies)
    rego.set_input(rego_safe(evidence))
    controls = []
    listed = catalogue(policies)
    every = every_findings(rego, [control.policy for control in listed])
    for control in listed:
        found = every[control.policy]
        results = {}
        for env_id, env in evidence["environments"].items():
            results[env_id] = _verdict(control, env_id, env, found, waivers or [], evidence["date"])
        controls.append({**control.__dict__, "applies_to": list(control.applies_to), "results": results})
    summary = {s: sum(r["status"] == s for c in controls for r in c["results"].values()) for s in STATUSES}
    return {"date": evidence["date"], "collected_at": evidence["collected_at"], "inventory": evidence["inventory"],
            "environments": list(evidence["environments"]), "controls": controls, "summary": summary}


def _verdict(control: Control, env_id: str, env: dict[str, Any], found: list[dict[str, str]],
             waivers: list[dict[str, Any]], today: str) -> dict[str, Any]:
    if env["data_class"] not in control.applies_to:
        return {"status": "not_applicable", "outcome": "not_applicable", "findings": [],
                "reason": f"applies to {', '.join(control.applies_to)} data; {env_id} holds {env['data_class']}"}
    mine = [f for f in found if f["environment"] == env_id]
    mine += [{"environment": env_id, "host": h, "message": f"no evidence: {host['error']}"}
             for h, host in env["hosts"].items() if host.get("error")]
    outcome = "fail" if mine else "pass"
    verdict: dict[str, Any] = {"status": outcome, "outcome": outcome, "findings": mine}
    waiver = next((w for w in waivers if w["control"] == control.id and w.get("environment", env_id) == env_id),
                  None)
    if waiver:
        expired = str(waiver["expires"]) < today
        verdict["waiver"] = {**waiver, "expires": str(waiver["expires"]), "expired": expired}
        if outcome == "fail" and not expired:
            verdict["status"] = "waived"
    return verdict


def failed(report: dict[str, Any]) -> bool:
    return report["summary"]["fail"] > 0


def load_waivers(path: Path, known_controls: set[str]) -> list[dict[str, Any]]:
    """The waiver file, validated: every problem as 'file: field: message'."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ComplyError(f"{path}: cannot read the waivers: {err}") from err
    schema = json.loads((SCHEMAS / "waivers.schema.json").read_text())
    errors = [f"{path}: {'.'.join(str(p) for p in e.absolute_path) or '(file)'}: {e.message}"
              for e in Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(
                  _stringify_dates(data))]
    for index, waiver in enumerate((data or {}).get("waivers", []) if not errors else []):
        if waiver["control"] not in known_controls:
            errors.append(f"{path}: waivers.{index}.control: unknown control {waiver['control']} "
                          f"(known: {', '.join(sorted(known_controls))})")
    if errors:
        raise ComplyError("\n".join(errors))
    return [_stringify_dates(w) for w in data["waivers"]]


def _stringify_dates(value: Any) -> Any:
    # YAML reads 2027-01-31 as a date; the schema (and the evidence) speak ISO strings.
    return _leaves(value, lambda v: v.isoformat() if hasattr(v, "isoformat") else v)


def compare(report: dict[str, Any], baseline: dict[str, Any]) -> dict[str, list[str]]:
    """What changed since a previous report, per 'control environment': newly failing, newly passing,
    added and removed verdicts."""
    now, before = _statuses(report), _statuses(baseline)
    return {
        "newly_failing": sorted(k for k, s in now.items() if s == "fail" and before.get(k) != "fail"),
        "newly_passing": sorted(k for k, s in now.items() if s == "pass" and before.get(k) == "fail"),
        "added": sorted(set(now) - set(before)),
        "removed": sorted(set(before) - set(now)),
    }


def _statuses(report: dict[str, Any]) -> dict[str, str]:
    return {f"{c['id']} {env}": r["status"] for c in report["controls"] for env, r in c["results"].items()}
