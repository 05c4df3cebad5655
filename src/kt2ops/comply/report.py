"""The reports of one `kt2 comply` run, written beside its evidence into one bundle: JSON, JUnit XML,
SARIF 2.1.0 and a self-contained HTML page, with a SHA-256 manifest (`sha256sum -c` format) so that
what was filed with an auditor can be shown unchanged later."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from kt2ops.digest import sha256_file

MANIFEST = "MANIFEST.sha256"
TOOL = "kt2 comply"
LEVELS = {"high": "error", "medium": "warning", "low": "note"}


def write_bundle(out: Path, evidence: dict[str, Any], report: dict[str, Any]) -> list[Path]:
    """Write evidence, reports and manifest into `out`; return the files written."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "evidence.json": _json(evidence),
        "report.json": _json(report),
        "report.junit.xml": junit(report),
        "report.sarif": _json(sarif(report)),
        "report.html": html(report, evidence),
    }
    for name, text in files.items():
        (out / name).write_text(text)
    lines = [f"{sha256_file(out / n)}  {n}" for n in sorted(files)]
    (out / MANIFEST).write_text("\n".join(lines) + "\n")
    return [out / n for n in [*files, MANIFEST]]


def verify_bundle(out: Path) -> list[str]:
    """What no longer matches the bundle's manifest (empty: unchanged since it was written)."""
    problems = []
    manifest = out / MANIFEST
    if not manifest.exists():
        return [f"{manifest}: no manifest"]
    for line in manifest.read_text().splitlines():
        digest, _, name = line.partition("  ")
        path = out / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif sha256_file(path) != digest:
            problems.append(f"{name}: changed (SHA-256 differs from the manifest)")
    return problems


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _cases(report: dict[str, Any]) -> list[tuple[dict[str, Any], str, dict[str, Any]]]:
    return [(c, env, r) for c in report["controls"] for env, r in c["results"].items()]


def junit(report: dict[str, Any]) -> str:
    suites = ET.Element("testsuites", name=TOOL)
    for control in report["controls"]:
        results = control["results"]
        suite = ET.SubElement(suites, "testsuite", name=f"{control['id']} {control['title_en']}",
                              tests=str(len(results)),
                              failures=str(sum(r["status"] == "fail" for r in results.values())),
                              skipped=str(sum(r["status"] == "not_applicable" for r in results.values())))
        for env, result in results.items():
            case = ET.SubElement(suite, "testcase", classname=control["id"], name=env)
            text = "\n".join(f"{f['host'] or env}: {f['message']}" for f in result["findings"])
            if result["status"] == "fail":
                ET.SubElement(case, "failure", message=result["findings"][0]["message"]).text = text
            elif result["status"] == "not_applicable":
                ET.SubElement(case, "skipped", message=result["reason"])
            elif result["status"] == "waived":
                waiver = result["waiver"]
                ET.SubElement(case, "system-out").text = (
                    f"waived until {waiver['expires']} by {waiver['approver']}: {waiver['justification']}\n{text}")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def sarif(report: dict[str, Any]) -> dict[str, Any]:
    rules = [{"id": c["id"], "name": c["policy"], "shortDescription": {"text": c["title_en"]},
              "fullDescription": {"text": c["title_nl"]},
              "defaultConfiguration": {"level": LEVELS[c["severity"]]},
              "properties": {"severity": c["severity"], "applies_to": c["applies_to"]}}
             for c in report["controls"]]
    index = {c["id"]: i for i, c in enumerate(report["controls"])}
    results = []
    for control, env, result in _cases(report):
        if result["status"] == "not_applicable":
            continue
        base = {"ruleId": control["id"], "ruleIndex": index[control["id"]]}
        if result["outcome"] == "pass":
            results.append({**base, "kind": "pass", "level": "none", "message": {"text": f"{env}: passes"},
                            "locations": [_location(env, "")]})
            continue
        for finding in result["findings"]:
            entry = {**base, "kind": "fail", "level": LEVELS[control["severity"]],
                     "message": {"text": f"{finding['host'] or env}: {finding['message']}"},
                     "locations": [_location(env, finding["host"])]}
            if result["status"] == "waived":
                waiver = result["waiver"]
                entry["suppressions"] = [{"kind": "external", "status": "accepted",
                                          "justification": f"{waiver['justification']} (approved by "
                                                           f"{waiver['approver']}, until {waiver['expires']})"}]
            results.append(entry)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": TOOL, "version": "0.1.0", "rules": rules}},
                  "invocations": [{"executionSuccessful": True, "endTimeUtc": _utc(report["collected_at"])}],
                  "results": results}],
    }


def _location(env: str, host: str) -> dict[str, Any]:
    return {"logicalLocations": [{"name": host or env, "fullyQualifiedName": f"{env}/{host}" if host else env,
                                  "kind": "resource"}]}


def _utc(timestamp: str) -> str:
    return timestamp.replace("+00:00", "Z")


def html(report: dict[str, Any], evidence: dict[str, Any]) -> str:
    env = Environment(loader=PackageLoader("kt2ops.comply", "."), autoescape=select_autoescape(["j2"]))
    return env.get_template("report.html.j2").render(report=report, evidence=evidence)
