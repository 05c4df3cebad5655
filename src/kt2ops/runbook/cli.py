"""`kt2 runbook`, `kt2 run`, `kt2 audit`, `kt2 calendar`: the migration runbook per domain."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from kt2ops.cli_options import inventory_option
from kt2ops.console import out, progress
from kt2ops.ee import run_in_ee
from kt2ops.inventory.model import load_inventory
from kt2ops.layout import setting
from kt2ops.paths import PROJECT_ROOT, ansible_env
from kt2ops.remote import Remote, RemoteError
from kt2ops.runbook.backup import BackupError, parts_for, restore_test
from kt2ops.runbook.catalogue import catalogue
from kt2ops.runbook.context import build_context, environment_vars
from kt2ops.runbook.decisions import DecisionError, record_decision
from kt2ops.runbook.gate import evaluate, o_checklist
from kt2ops.runbook.model import RunbookContext
from kt2ops.runbook.state import DomainState, audit_log, domain_state, runbook_dir
from kt2ops.secrets import SecretError, age_identity
from kt2ops.windows import MaintenanceCalendar, to_ics

domain_option = click.option("--domain", "domain_id", required=True, help="Domain id (its domain file's id).")
target_option = click.option("--target", default=None, help="KT 2.0 environment migrated to (default: the "
                                                              "domain's production environment).")


def _env_vars(inventory: Path) -> dict[str, dict[str, Any]]:
    return environment_vars(load_inventory(inventory).hostvars)


def _context(inventory: Path, domain_id: str, target: str | None) -> RunbookContext:
    return build_context(inventory, domain_id, _env_vars(inventory), target)


@click.group()
def runbook() -> None:
    """The migration runbook of a domain: status, plan, decisions."""


@runbook.command("status")
@inventory_option
@domain_option
@click.option("--json", "as_json", is_flag=True)
def status(inventory: Path, domain_id: str, as_json: bool) -> None:
    """The runbook A..T, the steps kt2ops automates, and where the domain stands."""
    state = domain_state(audit_log(inventory), domain_id)
    book = catalogue()
    if as_json:
        click.echo(json.dumps({"domain": domain_id, "steps": {s: state.status(s) for s in book.steps},
                               "decisions": state.decisions,
                               "runs": [r.__dict__ for r in state.runs]}, indent=2, default=str))
        return
    table = Table(title=f"runbook of {domain_id}")
    for column in ("phase / step", "title", "automated", "status", "last run"):
        table.add_column(column)
    for phase in book.phases:
        table.add_row(f"[bold]{phase['id']}[/bold]", f"{phase['title']} ({phase['en']})", "", "", "")
        for step in (s for s in book.steps.values() if s.id.split(".")[0] == phase["id"]):
            last = state.last_run(step.id)
            table.add_row(f"  {step.id}", step.title, f"kt2 run {step.id}", state.status(step.id),
                          f"{last.started[:19]} {last.operator}" if last else "")
        for decision in (d for d in book.decisions.values() if d.id.split(".")[0] == phase["id"]):
            record = state.decision(decision.id)
            table.add_row(f"  {decision.id}", decision.title, "kt2 runbook approve",
                          record["value"] if record else "not decided",
                          f"{record['at'][:19]} {record['by']} ({record['role']})" if record else "")
    out.print(table)


@runbook.command("plan")
@inventory_option
@domain_option
@target_option
def plan(inventory: Path, domain_id: str, target: str | None) -> None:
    """What runs next for the domain, and what still blocks it (the O checklist included)."""
    ctx = _context(inventory, domain_id, target)
    state = domain_state(audit_log(inventory), domain_id)
    now = datetime.now(UTC)
    pending = [s for s in catalogue().steps.values() if not state.done(s.id)]
    if not pending:
        out.print(f"{domain_id}: every automated step of part 1 is done")
    for step in pending:
        verdict = evaluate(ctx, state, step.id, False, now)
        mark = "[green]ready[/green]" if verdict.ok else "[red]blocked[/red]"
        out.print(f"{mark} {step.id} {step.en}  (kt2 run {step.id} --domain {domain_id})")
        for reason in verdict.refusals:
            out.print(f"    - {reason}")
    out.print("\nO checklist:")
    for check in o_checklist(catalogue(), state, ctx.domain, ctx.calendar(ctx.target), ctx.announce_days):
        out.print(f"  {'[green]met[/green]  ' if check.met else '[red]UNMET[/red]'} O.{check.id} {check.text}: "
                  f"{check.reason}")


@runbook.command("approve")
@inventory_option
@domain_option
@click.option("--decision", "decision_id", required=True, help="O.2, O.3, O.4, O.9, O.10, ...")
@click.option("--value", required=True, help="GO, NO-GO or confirmed (as the decision allows).")
@click.option("--by", "by", required=True, help="Who decided (a named person).")
@click.option("--role", required=True, help="Their role, e.g. care_provider, it_supplier, kt2_support.")
@click.option("--reason", required=True, help="Why; what the decision rests on.")
def approve(inventory: Path, domain_id: str, decision_id: str, value: str, by: str, role: str, reason: str) -> None:
    """Record a decision (GO/NO-GO, confirmation) in the audit trail."""
    _context(inventory, domain_id, None)  # the domain must exist and the inventory be valid
    try:
        record = record_decision(inventory, domain_id, decision_id, value, by, role, reason)
    except DecisionError as exc:
        raise click.BadParameter(exc.reason, param_hint=f"--{exc.field}") from exc
    out.print(f"recorded {decision_id} {value} for {domain_id} by {by} ({role}), audit seq {record['seq']}")


@click.command("run")
@click.argument("step")
@inventory_option
@domain_option
@target_option
@click.option("--undo", is_flag=True, help="Undo the step (rollback R): traffic back on, triggers on, unfreeze.")
@click.option("--emergency-reason", default="", help="Run a production step outside its window; recorded.")
@click.option("--check", is_flag=True, help="Ansible check mode with diff: show what would change.")
@click.option("-e", "--extra", multiple=True, help="More extra variables for ansible-playbook.")
@click.option("--ee", "in_ee", is_flag=True, help="Run inside the execution environment (ansible-runner, podman), "
                                                  "as AWX runs the step's job template.")
def run_step(step: str, inventory: Path, domain_id: str, target: str | None, undo: bool, emergency_reason: str,
             check: bool, extra: tuple[str, ...], in_ee: bool) -> None:
    """Run one runbook STEP for a domain (its playbook in playbooks/runbook/)."""
    try:
        spec = catalogue().step(step)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="STEP") from exc
    ctx = _context(inventory, domain_id, target)
    variables = {"kt2_domain": domain_id, "kt2_target": ctx.target, "kt2_step": spec.id, "kt2_undo": undo}
    if emergency_reason:
        variables["kt2_emergency_reason"] = emergency_reason
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory.resolve()),
            str(PROJECT_ROOT / "playbooks" / "runbook" / f"{spec.playbook}.yml"), "-e", json.dumps(variables)]
    argv += [a for e in extra for a in ("-e", e)] + (["--check", "--diff"] if check else [])
    if in_ee:
        raise SystemExit(run_in_ee(argv[1:], progress))
    # ansible-playbook takes this process's place: killing `kt2 run` kills the run itself (and its workers
    # end with it), not only a wrapper around it.
    sys.stdout.flush()
    os.execve(argv[0], argv, ansible_env())


@click.group()
def audit() -> None:
    """The runbook's tamper-evident audit trail."""


@audit.command("verify")
@inventory_option
def audit_verify(inventory: Path) -> None:
    """Check the hash chain; name every changed, removed or reordered record. Exit 1 when broken."""
    log = audit_log(inventory)
    count, breaks = log.verify()
    for problem in breaks:
        click.echo(f"{log.path}: {problem}", err=True)
    out.print(f"{log.path}: {count} record(s), {'chain intact' if not breaks else f'{len(breaks)} break(s)'}")
    if breaks:
        raise SystemExit(1)


@audit.command("export")
@inventory_option
@click.option("--domain", "domain_id", default=None, help="Only this domain's records.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "report"]), default="jsonl", show_default=True)
def audit_export(inventory: Path, domain_id: str | None, fmt: str) -> None:
    """The records as JSON lines, or a readable report per domain."""
    log = audit_log(inventory)
    if fmt == "jsonl":
        for record in log.records():
            if domain_id is None or record.get("domain") == domain_id:
                click.echo(json.dumps(record, ensure_ascii=False, sort_keys=True))
        return
    domains = sorted({r["domain"] for r in log.records() if r.get("domain")} if domain_id is None else {domain_id})
    for name in domains:
        click.echo(_report(domain_state(log, name)))


def _report(state: DomainState) -> str:
    lines = [f"# Runbook audit report: {state.domain}", ""]
    for run in state.runs:
        lines.append(f"- {run.started[:19]} {run.label} on {run.environment or '-'} by {run.operator}: "
                     f"{run.result}{' (check mode)' if run.check_mode else ''}"
                     + (f", ended {run.ended[:19]}" if run.ended else ", no end recorded")
                     + (f", {run.counts.get('changed', 0)} changed" if run.counts else "")
                     + (f"; {run.reason}" if run.reason else ""))
        for name, value in run.artefacts.items():
            lines.append(f"    {name}: {value}")
        if run.inputs.get("kt2_emergency_reason"):
            lines.append(f"    emergency override: {run.inputs['kt2_emergency_reason']}")
    for decision in state.decisions.values():
        lines.append(f"- {decision['at'][:19]} decision {decision['decision']} {decision['value']} by "
                     f"{decision['by']} ({decision['role']}): {decision['reason']}")
    return "\n".join(lines) + "\n"


@click.command("calendar")
@inventory_option
@click.option("--env", "env_id", required=True, help="Environment id.")
@click.option("--year", type=int, default=lambda: datetime.now(UTC).year)
@click.option("--ics", type=click.Path(path_type=Path), default=None, help="Also write an iCalendar file.")
def calendar(inventory: Path, env_id: str, year: int, ics: Path | None) -> None:
    """The maintenance windows of an environment in a year."""
    variables = _env_vars(inventory)
    if env_id not in variables:
        raise click.BadParameter(f"no environment {env_id!r} in {inventory} (known: {', '.join(variables)})",
                                 param_hint="--env")
    spec = variables[env_id].get("kt2_maintenance")
    if not spec:
        raise click.ClickException(f"{inventory}/group_vars/{env_id}.yml: no kt2_maintenance calendar")
    cal = MaintenanceCalendar(env_id, spec, variables[env_id]["kt2_env"].get("data_class") == "production",
                              source=f"{inventory}/group_vars/{env_id}.yml")
    windows = cal.windows(year)
    for window in windows:
        moved = f"  (moved from {window.moved_from}: {window.why_moved})" if window.moved_from else ""
        out.print(f"{window.start:%a %Y-%m-%d %H:%M}-{window.end:%H:%M}  {window.rule}{moved}")
    if ics:
        ics.write_bytes(to_ics(windows))
        out.print(f"wrote {len(windows)} windows to {ics}")


@runbook.command("restore-test")
@inventory_option
@domain_option
@target_option
@click.option("--backup", "backup_id", default=None, help="Backup id (default: the newest of the domain).")
def restore_test_command(inventory: Path, domain_id: str, target: str | None, backup_id: str | None) -> None:
    """Prove a stored backup still restores to identical data (scratch databases on the hosts)."""
    ctx = _context(inventory, domain_id, target)
    backups = runbook_dir(inventory) / "backups" / domain_id
    found = sorted(p.parent for p in backups.glob("*/manifest.json")) if backups.exists() else []
    chosen = next((p for p in found if p.name == backup_id), None) if backup_id else (found[-1] if found else None)
    if chosen is None:
        raise click.ClickException(f"{backups}: no backup {backup_id or ''} (have: "
                                   f"{', '.join(p.name for p in found) or 'none'})")
    manifest = json.loads((chosen / "manifest.json").read_text())
    inv = load_inventory(inventory)
    kt13_host, target_host = inv.group_hosts("kt13")[0], inv.group_hosts(ctx.target)[0]
    parts = parts_for(domain_id, ctx.domain["kt13"]["domain"],
                      Remote.from_hostvars(kt13_host, inv.hostvars[kt13_host]),
                      setting(inv.hostvars[kt13_host], "kt13_server_database"),
                      Remote.from_hostvars(target_host, inv.hostvars[target_host]),
                      setting(inv.hostvars[target_host], "kt2_fhir_server_database", ctx.target))
    try:
        result = restore_test(chosen, parts, age_identity(manifest["key_file"]))
    except (OSError, BackupError, RemoteError, SecretError) as exc:
        raise click.ClickException(f"{chosen.name}: {exc}") from exc
    out.print(f"{chosen.name}: restore test {result} ({len(parts)} parts)")
