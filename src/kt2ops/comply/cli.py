"""`kt2 comply` and `kt2 verify-bundle`: the security team's appendix B check."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table

from kt2ops.comply.collect import EvidenceError, collect
from kt2ops.comply.evaluate import ComplyError, catalogue, compare, failed, judge, load_waivers
from kt2ops.comply.report import verify_bundle, write_bundle
from kt2ops.console import err, out
from kt2ops.inventory.model import InventoryError
from kt2ops.paths import LAB_INVENTORY, PROJECT_ROOT
from kt2ops.secrets import SecretError

STYLE = {"pass": "green", "fail": "bold red", "waived": "yellow", "not_applicable": "dim"}


class BadInput(click.ClickException):
    """Bad input changes nothing and exits 2 (1 is kept for a failed control)."""

    exit_code = 2


@click.command("comply")
@click.option("-i", "--inventory", type=click.Path(path_type=Path), default=LAB_INVENTORY, show_default=True,
              help="Inventory directory.")
@click.option("-l", "--limit", multiple=True, help="Only this environment (repeatable).")
@click.option("--evidence", "evidence_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Judge a stored evidence document again instead of collecting (touches no host).")
@click.option("--waivers", type=click.Path(path_type=Path, dir_okay=False),
              help="Waiver file [default: INVENTORY/compliance/waivers.yml when it exists].")
@click.option("--baseline", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="report.json of a previous run to compare with.")
@click.option("--fail-on", type=click.Choice(["any", "new"]), default="any", show_default=True,
              help="Exit 1 on any failed control, or only on controls failing since the baseline.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Bundle directory [default: reports/comply-<time>].")
def comply(inventory: Path, limit: tuple[str, ...], evidence_file: Path | None, waivers: Path | None,
           baseline: Path | None, fail_on: str, out_dir: Path | None) -> None:
    """Check appendix B: collect evidence (read-only), judge it with the Rego policies, write the
    reports (JSON, JUnit, SARIF, HTML) and their SHA-256 manifest; exit 1 when a control fails."""
    if fail_on == "new" and baseline is None:
        raise BadInput("--fail-on new needs --baseline PREVIOUS/report.json")
    known = {c.id for c in catalogue()}
    waiver_file = waivers or (inventory / "compliance" / "waivers.yml")
    try:
        accepted = load_waivers(waiver_file, known) if waivers or waiver_file.exists() else []
        previous = _read_json(baseline) if baseline else None
        if evidence_file:
            evidence = _read_json(evidence_file)
        else:
            evidence = collect(inventory, list(limit) or None, progress=lambda m: err.print(f"[dim]{m}[/dim]"))
        report = judge(evidence, accepted)
    except (ComplyError, EvidenceError, InventoryError, SecretError) as exc:
        raise BadInput(str(exc)) from exc
    if previous is not None:
        report["baseline"] = {"file": str(baseline), **compare(report, previous)}
    bundle = out_dir or PROJECT_ROOT / "reports" / f"comply-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    write_bundle(bundle, evidence, report)
    _print(report)
    out.print(f"bundle: {bundle} (evidence, report.json/.junit.xml/.sarif/.html, MANIFEST.sha256)")
    if fail_on == "new":
        raise SystemExit(1 if report["baseline"]["newly_failing"] else 0)
    raise SystemExit(1 if failed(report) else 0)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ComplyError(f"{path}: not a JSON document: {exc}") from exc


def _print(report: dict) -> None:
    table = Table(title=f"Appendix B, evidence of {report['collected_at']}")
    table.add_column("control")
    for env in report["environments"]:
        table.add_column(env)
    for control in report["controls"]:
        table.add_row(f"{control['id']} {control['title_en']}",
                      *(f"[{STYLE[r['status']]}]{r['status']}[/]" for r in control["results"].values()))
    out.print(table)
    for control in report["controls"]:
        for env, result in control["results"].items():
            for finding in result["findings"]:
                mark = "WAIVED" if result["status"] == "waived" else result["status"].upper()
                out.print(f"{mark} {control['id']} {env} {finding['host']}: {finding['message']}", highlight=False)
            if result.get("waiver", {}).get("expired"):
                out.print(f"note: the waiver of {control['id']} for {env} expired on "
                          f"{result['waiver']['expires']} and no longer waives", highlight=False)
    summary = report["summary"]
    out.print(f"comply: {summary['pass']} pass, {summary['fail']} fail, {summary['waived']} waived, "
              f"{summary['not_applicable']} not applicable")
    if "baseline" in report:
        for key in ("newly_failing", "newly_passing", "added", "removed"):
            out.print(f"since baseline, {key.replace('_', ' ')}: {', '.join(report['baseline'][key]) or '-'}")


@click.command("verify-bundle")
@click.argument("bundle", type=click.Path(path_type=Path, exists=True, file_okay=False))
def verify(bundle: Path) -> None:
    """Show that a comply bundle is unchanged since it was written (its SHA-256 manifest)."""
    problems = verify_bundle(bundle)
    for problem in problems:
        click.echo(f"{bundle}: {problem}", err=True)
    click.echo(f"{bundle}: {'CHANGED' if problems else 'unchanged'}")
    raise SystemExit(1 if problems else 0)
