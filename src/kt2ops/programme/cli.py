"""`kt2 programme`: every domain at a glance, the plan (with .ics and AWX schedules), and its findings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
import yaml
from rich.table import Table

from kt2ops.console import out
from kt2ops.programme.export import awx_schedules, plan_ics
from kt2ops.programme.planner import hours
from kt2ops.programme.programme import Programme, load_programme
from kt2ops.programme.report import html
from kt2ops.runbook.cli import inventory_option

at_option = click.option("--at", "at", type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d"]), default=None,
                         help="Judge as at this moment (UTC; default: now).")


def _load(inventory: Path, at: datetime | None) -> Programme:
    return load_programme(inventory, (at.replace(tzinfo=UTC) if at else datetime.now(UTC)))


@click.group("programme", invoke_without_command=True)
@inventory_option
@at_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--html", "html_file", type=click.Path(path_type=Path), default=None,
              help="Also write the overview as an HTML page.")
@click.pass_context
def programme(ctx: click.Context, inventory: Path, at: datetime | None, as_json: bool, html_file: Path | None) -> None:
    """Every domain of the inventory at a glance: cluster, runbook position, planned date and window, trial
    figures or estimate, heightened monitoring."""
    if ctx.invoked_subcommand is not None:
        return
    prog = _load(inventory, at)
    data = prog.as_dict()
    if html_file:
        html_file.write_text(html(data))
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    table = Table(title=f"programme of {inventory} at {prog.at:%Y-%m-%d %H:%M} UTC")
    for column in ("cluster", "domain", "last done", "next (what blocks it)", "date", "duration", "monitoring"):
        table.add_column(column)
    for row in sorted(data["domains"], key=lambda r: (r["cluster"], r["domain"])):
        blocked = "; ".join(row["blocked_by"][:2]) + (" ..." if len(row["blocked_by"]) > 2 else "")
        table.add_row(row["cluster"], row["domain"], row["last_done"],
                      f"{row['next_step'] or 'all steps done'}" + (f"\n[red]{blocked}[/red]" if blocked else ""),
                      _date(row), _duration(row), row["monitoring"])
    out.print(table)
    _print_findings(prog)


def _date(row: dict) -> str:
    if row["live_since"]:
        return f"live {row['live_since'][:10]}"
    if row["planned"]:
        verdict = "[green]in window[/green]" if row["in_window"] else "[red]not in a window[/red]"
        return f"{row['planned'][:16]} {verdict}"
    return f"proposed {row['proposed'][:16]}" if row["proposed"] else "[red]no place[/red]"


def _duration(row: dict) -> str:
    trial, est = row["trial"], row["estimate"]
    if est["p8_seconds"] is None:
        return "unknown"
    source = f"trial {trial['error_rate_percent']} % errors" if trial else "K.3 estimate"
    return f"P.8 {hours(est['p8_seconds'])}{' exempt' if est['exempt'] else ''} ({source})"


def _print_findings(prog: Programme) -> None:
    for finding in prog.findings:
        out.print(f"[red]finding[/red] {finding}")
    _print_unplaced(prog)


def _print_unplaced(prog: Programme) -> None:
    for domain, why in prog.plan.unplaced.items():
        out.print(f"[red]no place[/red] {domain}: {why}")


@programme.command("plan")
@inventory_option
@at_option
@click.option("--ics", type=click.Path(path_type=Path), default=None, help="Write the plan as an iCalendar file.")
@click.option("--awx", "awx_file", type=click.Path(path_type=Path), default=None,
              help="Write kt2_awx_schedules for awx/configure.yml (-e @FILE).")
@click.option("--json", "as_json", is_flag=True)
def plan_command(inventory: Path, at: datetime | None, ics: Path | None, awx_file: Path | None, as_json: bool) -> None:
    """Each migration's place in its target's maintenance windows, why there, and what does not fit."""
    prog = _load(inventory, at)
    names = {p.id: p.name for p in prog.positions}
    if ics:
        ics.write_bytes(plan_ics(prog.plan, names))
    if awx_file:
        awx_file.write_text(yaml.safe_dump(awx_schedules(prog.plan), sort_keys=False, allow_unicode=True))
    if as_json:
        click.echo(json.dumps({"slots": [{"domain": s.domain, "target": s.target, "start": s.start.isoformat(),
                                          "end": s.end.isoformat(), "proposed": s.proposed, "why": s.why,
                                          "window": [s.window.start.isoformat(), s.window.end.isoformat()]}
                                         for s in prog.plan.slots],
                               "unplaced": prog.plan.unplaced}, indent=2))
        return
    for slot in prog.plan.slots:
        out.print(f"{slot.start:%a %Y-%m-%d %H:%M}-{slot.end:%H:%M} {slot.target} {slot.domain}: "
                  f"{'proposed' if slot.proposed else 'planned'}; {slot.why}")
    _print_unplaced(prog)
    for path in (p for p in (ics, awx_file) if p):
        out.print(f"wrote {path}")


@programme.command("check")
@inventory_option
@at_option
@click.option("--json", "as_json", is_flag=True)
def check_command(inventory: Path, at: datetime | None, as_json: bool) -> None:
    """The programme's findings (dates outside a window, overlaps beyond capacity, planned before the trial,
    without the decisions or the announcement); exit 1 when there is one."""
    prog = _load(inventory, at)
    if as_json:
        click.echo(json.dumps([vars(f) for f in prog.findings], indent=2))
    else:
        for finding in prog.findings:
            click.echo(str(finding))
        click.echo(f"{inventory}: {len(prog.findings)} programme finding(s) over {len(prog.positions)} domain(s)")
    if prog.findings:
        raise SystemExit(1)
