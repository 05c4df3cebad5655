"""YAML loading for validation: plain JSON-like data plus the line of every field.

Timestamps stay strings (JSON Schema validates `format: date-time` on strings), duplicate keys are an
error instead of a silent overwrite, and `line_of` maps a field path back to its line in the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from kt2ops.errors import Kt2OpsError

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


# libyaml's parser where PyYAML was built with it (its wheels are): about 8x faster on a domain file.
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class YamlError(Kt2OpsError, ValueError):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class YamlDoc:
    """One parsed YAML file: its data and its node tree (for line numbers)."""

    def __init__(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        loader = _Loader(text)
        try:
            # One parse: the data is constructed from the node tree kept for the line numbers.
            self.node = loader.get_single_node()
            self.data: Any = loader.construct_document(self.node) if self.node is not None else None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise YamlError(f"not valid YAML: {exc.problem or exc}", mark.line + 1 if mark else None) from exc
        finally:
            loader.dispose()
        duplicate = _first_duplicate_key(self.node)
        if duplicate is not None:
            key, line = duplicate
            raise YamlError(f"duplicate key '{key}'", line)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of the deepest node that `path` reaches (1-based)."""
        node = self.node
        for part in path:
            child = None
            if isinstance(node, yaml.MappingNode):
                child = next((v for k, v in node.value if k.value == part), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                child = node.value[part]
            if child is None:
                break
            node = child
        return node.start_mark.line + 1 if node is not None else None


def _first_duplicate_key(node: yaml.Node | None) -> tuple[str, int] | None:
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key, value in node.value:
            if key.value in seen:
                return str(key.value), key.start_mark.line + 1
            seen.add(key.value)
            found = _first_duplicate_key(value)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found = _first_duplicate_key(item)
            if found:
                return found
    return None
