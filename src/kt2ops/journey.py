"""`kt2 journey`: a domain's whole path on an inventory, one command: provision, enforce appendix B, the
trial migration on mgr2 (M.2, M.5), part 1 of the runbook (L.1 .. P.2), the migration (P.8L, P.8), the Q gate,
opening production (Q.9, Q.10), cleanup (S.1 .. S.5) and a compliance report; then where everything is.

Every step is the same `kt2 run` a person would type, so it is gated and recorded the same way; a step
already done (by the audit trail) is skipped, so a journey that stopped goes on where it stopped.
Decisions are people's: without --approve-as the journey stops at the first one and says what to record.
--stop-after STEP pauses after a step (to look at the lab before S.5 removes the domain from KT 1.3, say);
the same command without it goes on from there."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from kt2ops.console import out
from kt2ops.inventory.model import InventoryError, load_inventory
from kt2ops.lifeline import end_with_parent
from kt2ops.paths import LAB_INVENTORY, PROJECT_ROOT, ansible_env
from kt2ops.provisioned import record_passed, unchanged_since_passed
from kt2ops.remote import Remote, RemoteError
from kt2ops.runbook.context import RunbookError, load_domain
from kt2ops.runbook.state import audit_log, domain_state
from kt2ops.services import contract_url

READ_INBOX = ("python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(urllib.request.Request("
              "sys.argv[1], method=\"POST\"), timeout=600).read().decode())' {url}")


@dataclass(frozen=True)
class Leg:
    kind: str  # playbook, step, decide, read, comply
    what: str
    value: str = ""
    until: str = ""  # a leg that prepares this step is not needed once the step is done


JOURNEY = (
    Leg("playbook", "site"), Leg("playbook", "provision"), Leg("playbook", "security"),
    Leg("step", "M.2"), Leg("decide", "O.4", "confirmed"), Leg("step", "M.5"),
    Leg("step", "L.1"), Leg("step", "L.2"),
    Leg("decide", "O.2", "confirmed"), Leg("decide", "O.3", "confirmed"), Leg("decide", "O.9", "GO"),
    Leg("decide", "O.10", "GO"), Leg("step", "O"),
    Leg("step", "P.3"), Leg("step", "P.4"),
    Leg("read", "applications read what KT 1.3 still holds for them", until="P.5"),
    Leg("step", "P.5"), Leg("step", "P.6"), Leg("step", "P.2"), Leg("step", "P.8L"), Leg("step", "P.8"),
    Leg("step", "Q"),
    Leg("decide", "Q.7", "GO"), Leg("decide", "Q.8", "signed"), Leg("step", "Q.9"), Leg("step", "Q.10"),
    Leg("decide", "Q.11", "lowered"),
    Leg("step", "S.1"), Leg("step", "S.2"), Leg("step", "S.3"), Leg("step", "S.4"), Leg("step", "S.5"),
    Leg("comply", "compliance report"),
)
ROLE = {"O.10": "care_provider", "Q.8": "care_provider"}
JOURNEY_PROVISIONING = tuple(leg.what for leg in JOURNEY if leg.kind == "playbook")


class JourneyStopped(click.ClickException):
    exit_code = 1


def _kt2(*args: str) -> int:
    return subprocess.run([str(Path(sys.executable).parent / "kt2"), *args], env=ansible_env(), check=False,
                          preexec_fn=end_with_parent).returncode


def _read_inboxes(inventory: Path, domain: dict) -> None:
    hostvars = load_inventory(inventory).hostvars
    name = next(h for h, v in hostvars.items() if (v.get("kt2_env") or {}).get("kind") == "kt13")
    kt13 = Remote.from_hostvars(name, hostvars[name])
    for app in domain["applications"]:
        url = f"{contract_url('app_service')}/apps/{domain['domain']['id']}/{app['id']}/inbox/read"
        out.print(f"  {app['id']}: {kt13.run(READ_INBOX.format(url=url)).decode().strip()}")


def _run_leg(leg: Leg, inventory: Path, domain: dict, approve_as: str | None, emergency_reason: str) -> int:
    domain_id = domain["domain"]["id"]
    base = ["-i", str(inventory), "--domain", domain_id]
    if leg.kind == "playbook":
        return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
                               str(PROJECT_ROOT / "playbooks" / f"{leg.what}.yml")], env=ansible_env(),
                              check=False, preexec_fn=end_with_parent).returncode
    if leg.kind == "step":
        return _kt2("run", leg.what, *base, *(["--emergency-reason", emergency_reason] if emergency_reason else []))
    if leg.kind == "decide":
        if not approve_as:
            raise JourneyStopped(f"{leg.what} needs a decision: kt2 runbook approve -i {inventory} --domain "
                                 f"{domain_id} --decision {leg.what} --value {leg.value} --by NAME --role "
                                 f"{ROLE.get(leg.what, 'kt2_support')} --reason WHY; then run the journey again")
        return _kt2("runbook", "approve", *base, "--decision", leg.what, "--value", leg.value, "--by", approve_as,
                    "--role", ROLE.get(leg.what, "kt2_support"), "--reason", "recorded by kt2 journey")
    if leg.kind == "read":
        try:
            _read_inboxes(inventory, domain)
        except (InventoryError, RemoteError) as exc:
            raise JourneyStopped(f"reading the applications' inboxes: {exc}") from exc
        return 0
    return _kt2("comply", "-i", str(inventory), "--out", str(inventory / ".runbook" / "comply" / domain_id))


@click.command("journey")
@click.option("-i", "--inventory", type=click.Path(path_type=Path), default=LAB_INVENTORY, show_default=True)
@click.option("--domain", "domain_id", required=True, help="Domain id (its domain file's id).")
@click.option("--approve-as", default=None, help="Record the decisions as this person (the lab, a demo). Without "
              "it the journey stops at the first decision not yet recorded.")
@click.option("--emergency-reason", default="", help="Reason recorded for production steps outside a window.")
@click.option("--stop-after", type=click.Choice([leg.what for leg in JOURNEY if leg.kind == "step"]), default=None,
              help="Stop once this step is done; run the journey again without it to go on.")
@click.option("--reprovision", is_flag=True, help="Run site, provision and security even if nothing they read "
              "changed since they last passed.")
def journey(inventory: Path, domain_id: str, approve_as: str | None, emergency_reason: str,
            stop_after: str | None, reprovision: bool) -> None:
    """Run DOMAIN's whole migration journey, skipping what is already done."""
    try:
        domain = load_domain(inventory, domain_id)
    except RunbookError as exc:
        raise click.UsageError(str(exc)) from exc
    provisioned_at = None if reprovision else unchanged_since_passed(inventory)
    for leg in JOURNEY:
        state = domain_state(audit_log(inventory), domain_id)
        if (leg.kind == "step" and state.done(leg.what)) or (leg.until and state.done(leg.until)):
            out.print(f"[dim]{leg.what}: done already[/dim]")
        elif leg.kind == "playbook" and provisioned_at:
            out.print(f"[dim]{leg.what}: passed at {provisioned_at}, nothing it reads changed since "
                      "(--reprovision runs it)[/dim]")
        elif leg.kind != "decide" or (state.decision(leg.what) or {}).get("value") != leg.value:
            out.print(f"[bold]== {leg.kind} {leg.what} {leg.value}[/bold]")
            code = _run_leg(leg, inventory, domain, approve_as, emergency_reason)
            if code != 0:
                raise JourneyStopped(f"{leg.what} failed (exit {code}); fix what it says and run the journey again")
            if leg.kind == "playbook" and leg.what == JOURNEY_PROVISIONING[-1]:
                record_passed(inventory)
        if leg.kind == "step" and leg.what == stop_after:
            out.print(f"\nStopped after {stop_after} as asked; run the journey again without --stop-after to go on.")
            return
    work = inventory / ".runbook"
    out.print(f"\n{domain_id} is on KT 2.0. Where to look:\n"
              f"  audit trail        {work / 'audit.jsonl'} (kt2 audit verify / export)\n"
              f"  trial migration    {work / 'migration' / domain_id / 'mgr2' / 'trial.json'}\n"
              f"  migration, Q gate  {work / 'migration' / domain_id}/<target>/ (validation, errors, migration, "
              "q-gate)\n"
              f"  backups, archive   {work / 'backups' / domain_id}, {work / 'archives' / domain_id}\n"
              f"  compliance         {work / 'comply' / domain_id}")
