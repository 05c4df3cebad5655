"""The consoles every `kt2` command prints to."""

from __future__ import annotations

import sys

from rich.console import Console

# Piped output (CI logs, files) gets a wide fixed width so tables are not squeezed to 80 columns.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def progress(msg: str) -> None:
    """A long command's progress line, dimmed on stderr (stdout stays for what the command prints)."""
    err.print(f"[dim]{msg}[/dim]")
