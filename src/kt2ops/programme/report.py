"""The programme overview as an HTML page a coordinator opens."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape


def html(programme: dict[str, Any]) -> str:
    env = Environment(loader=PackageLoader("kt2ops.programme", "."), autoescape=select_autoescape(["j2"]))
    return env.get_template("programme.html.j2").render(p=programme)
