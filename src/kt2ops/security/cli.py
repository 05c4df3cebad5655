"""`kt2 package seal|verify|open`: encrypted, hash-verified data packages (appendix B.1, B.2)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kt2ops.security.package import PackageError, manifest_path, open_package, seal, verify

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
    try:
        path = seal(list(sources), out_dir, name, key_out)
    except PackageError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"sealed {path} (manifest {manifest_path(path).name}); key in {key_out}")


@package.command("verify")
@click.argument("package_file", type=PathArg)
def verify_cmd(package_file: Path) -> None:
    """Check a package against its manifest (no key needed); record the result beside it. Exit 1 on mismatch."""
    try:
        result = verify(package_file)
    except PackageError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result, indent=2))
    raise SystemExit(0 if result["ok"] else 1)


@package.command("open")
@click.argument("package_file", type=PathArg)
@click.option("--key", "key_file", required=True, type=PathArg, help="The package's key (from its own channel).")
@click.option("--to", "dest", required=True, type=PathArg, help="A new directory to unpack into.")
def open_cmd(package_file: Path, key_file: Path, dest: Path) -> None:
    """Verify, decrypt and unpack; every file is checked against the manifest."""
    try:
        files = open_package(package_file, key_file, dest)
    except PackageError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"opened {package_file} into {dest}: {len(files)} file(s), all matching the manifest")
