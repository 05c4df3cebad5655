"""Options several `kt2` command groups share."""

from pathlib import Path

import click

from kt2ops.paths import LAB_INVENTORY

inventory_option = click.option("-i", "--inventory", "inventory", type=click.Path(path_type=Path),
                                default=LAB_INVENTORY, show_default=True, help="Inventory directory.")
