"""Action plugins take their argument spec from their DOCUMENTATION: what ansible-doc shows is what is enforced."""

import importlib.util

import pytest

from kt2ops.action_args import argument_spec
from tests.conftest import ROOT

PLUGINS = sorted((ROOT / "plugins" / "action").glob("*.py"))
SPEC_KEYS = {"type", "required", "default", "choices", "elements", "no_log"}


def _load(path):
    spec = importlib.util.spec_from_file_location(f"action_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_option_keeps_everything_but_its_description():
    doc = "options:\n  mode: {description: 'a, b.', type: str, default: a, choices: [a, b]}\n"
    assert argument_spec(doc) == {"mode": {"type": "str", "default": "a", "choices": ["a", "b"]}}


@pytest.mark.parametrize("path", PLUGINS, ids=lambda p: p.stem)
def test_every_documented_option_is_a_well_formed_argument(path):
    # A description with an unquoted comma in a flow mapping splits into stray keys: caught here.
    args = _load(path).ARGS
    assert args, f"{path.name} documents no options"
    for name, option in args.items():
        assert set(option) <= SPEC_KEYS, f"{path.name}: option {name} has stray keys {set(option) - SPEC_KEYS}"
        assert option.get("type") in {"str", "int", "float", "bool", "path", "list", "dict"}, f"{path.name}: {name}"
