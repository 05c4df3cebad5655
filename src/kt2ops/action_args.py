"""Argument specs of the project's action plugins, read from their DOCUMENTATION.

One source for what `ansible-doc` shows and what `validate_argument_spec` enforces, so the two cannot drift.
"""

from __future__ import annotations

from typing import Any

import yaml


def argument_spec(documentation: str) -> dict[str, dict[str, Any]]:
    """The `options` of a plugin's DOCUMENTATION without their descriptions: an Ansible argument spec."""
    options = yaml.safe_load(documentation).get("options") or {}
    return {name: {key: value for key, value in option.items() if key != "description"}
            for name, option in options.items()}
