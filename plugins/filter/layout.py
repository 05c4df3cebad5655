# Where kt2ops keeps its files and databases: the registry kt2ops.layout, the one place each default is written.
# Each filter's documentation is the YAML file of its name beside this one.
from __future__ import annotations

from kt2ops.layout import layout, setting


class FilterModule:
    def filters(self):
        return {"layout": layout, "setting": setting}
