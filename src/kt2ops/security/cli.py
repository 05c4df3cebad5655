"""`kt2 package seal|verify|open|send`: encrypted, hash-verified data packages (appendix B.1, B.2)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from kt2ops.console import err
from kt2ops.inventory.model import load_inventory
from kt2ops.paths import LAB_INVENTORY
from kt2ops.remote import Remote
from kt2ops.security import sftp
from kt2ops.security.cleaning import CleaningError, clean, load_rules
from kt2ops.security.package import manifest_path, open_package, seal, verify

PathArg = click.Path(path_type=Path)


@click.group("package")
def package() -> None:
    """Encrypted data packages with a SHA-256 manifest (appendix B.1, B.2)."""


@package.command("seal")
@click.argument("sources", nargs=-1, required=True, type=PathArg)
@click.option("--out", "out_dir", required=True, type=PathArg, help="Directory for the package and its manifest.")
@click.option("--name", required=True, help="Package name (<name>.tar.age).")
@click.option("--key-out", required=True, type=PathArg,
              help="Where the secret key goes (mode 0600): a separate channel, not the package's directory.")
def seal_cmd(sources: tuple[Path, ...], out_dir: Path, name: str, key_out: Path) -> None:
    """Pack, encrypt (age) and hash SOURCES; the key is written to --key-out only."""
    path = seal(list(sources), out_dir, name, key_out)
    click.echo(f"sealed {path} (manifest {manifest_path(path).name}); key in {key_out}")


@package.command("verify")
@click.argument("package_file", type=PathArg)
def verify_cmd(package_file: Path) -> None:
    """Check a package against its manifest (no key needed); record the result beside it. Exit 1 on mismatch."""
    result = verify(package_file)
    click.echo(json.dumps(result, indent=2))
    raise SystemExit(0 if result["ok"] else 1)


@package.command("send")
@click.argument("package_file", type=PathArg)
@click.option("--env", "environment", required=True, help="The environment whose transfer area receives it (mgr2).")
@click.option("-i", "--inventory", type=PathArg, default=LAB_INVENTORY, show_default=True, help="Inventory directory.")
def send_cmd(package_file: Path, environment: str, inventory: Path) -> None:
    """Upload a sealed package and its manifest over SFTP (B.1): host key checked against the inventory's
    known_hosts, key only, with progress; an interrupted upload resumes when run again."""
    files = [package_file, manifest_path(package_file)]
    for path in files:
        if not path.is_file():
            raise click.ClickException(f"{path}: no such file (seal the package first: kt2 package seal)")
    inv = load_inventory(inventory)
    host = inv.environment(environment).hosts[0]
    remote = Remote.from_hostvars(host, inv.hostvars[host])
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=err) as bar:
        tasks: dict[str, int] = {}

        def show(transfer: sftp.Transfer) -> None:
            if transfer.name not in tasks:
                tasks[transfer.name] = bar.add_task(transfer.name, total=transfer.size,
                                                    completed=transfer.resumed_from)
            bar.update(tasks[transfer.name], completed=transfer.done)

        sent = sftp.send(remote, files, progress=show)
    for record in sent:
        resumed = f", resumed at {record['resumed_from']} bytes" if record["resumed_from"] else ""
        click.echo(f"delivered {record['file']} to {host} ({record['bytes']} bytes{resumed})")


@package.command("open")
@click.argument("package_file", type=PathArg)
@click.option("--key", "key_file", required=True, type=PathArg, help="The package's key (from its own channel).")
@click.option("--to", "dest", required=True, type=PathArg, help="A new directory to unpack into.")
def open_cmd(package_file: Path, key_file: Path, dest: Path) -> None:
    """Verify, decrypt and unpack; every file is checked against the manifest."""
    files = open_package(package_file, key_file, dest)
    click.echo(f"opened {package_file} into {dest}: {len(files)} file(s), all matching the manifest")


@package.command("clean")
@click.argument("export", type=PathArg)
@click.option("--rules", "rules_file", required=True, type=PathArg, help="Cleaning rules (YAML).")
@click.option("--out", "out_file", required=True, type=PathArg, help="The cleaned export (JSON lines).")
@click.option("--report", "report_file", required=True, type=PathArg, help="What each rule removed (JSON).")
def clean_cmd(export: Path, rules_file: Path, out_file: Path, report_file: Path) -> None:
    """Clean a KT 1.3 export by declared rules before it is sealed (appendix B.3); report what was removed."""
    tmp = out_file.with_name(out_file.name + ".partial")  # bad input leaves no half-cleaned export
    try:
        rules = load_rules(rules_file)
        with export.open(encoding="utf-8") as source, tmp.open("w", encoding="utf-8") as target:
            lines, reports = clean(source, rules, str(export))
            kept = sum(target.write(line) > 0 for line in lines)
        tmp.replace(out_file)
    except (OSError, CleaningError) as exc:
        tmp.unlink(missing_ok=True)
        raise click.ClickException(str(exc)) from exc
    report = {"export": str(export), "rules": str(rules_file), "kept": kept,
              "removed": [r.__dict__ for r in reports]}
    report_file.write_text(json.dumps(report, indent=2) + "\n")
    for rule in reports:
        click.echo(f"{rule.id}: {rule.messages_removed} message(s) and {rule.fields_removed} field(s) removed")
    click.echo(f"kept {kept} message(s) in {out_file}; report {report_file}")
