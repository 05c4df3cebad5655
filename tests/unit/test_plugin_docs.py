"""Every plugin of the collection is documented where operators look (ansible-doc), its examples are valid
tasks, and each action plugin enforces exactly the options its doc-only module documents."""

import json

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.loader import action_loader, init_plugin_loader

from tests.conftest import ROOT, run

PLUGINS = ROOT / "plugins"
COLLECTION = "kt2ops.platform"
ACTIONS = sorted(p.stem for p in (PLUGINS / "action").glob("*.py"))
FILTERS = sorted(p.stem for p in (PLUGINS / "filter").glob("*.yml"))
TYPES = {  # ansible-doc type: the plugin names of that type in the collection
    "module": sorted(p.stem for p in (PLUGINS / "modules").glob("*.py")),
    "filter": FILTERS,
    "lookup": sorted(p.stem for p in (PLUGINS / "lookup").glob("*.py")),
    "callback": sorted(p.stem for p in (PLUGINS / "callback").glob("*.py")),
    "strategy": sorted(p.stem for p in (PLUGINS / "strategy").glob("*.py")),
}
SPEC_KEYS = {"type", "required", "default", "choices", "elements", "no_log", "aliases"}


@pytest.fixture(scope="module")
def docs():
    """ansible-doc's JSON for every plugin, one call per plugin type."""
    rendered = {}
    for plugin_type, names in TYPES.items():
        proc = run("ansible-doc", "-t", plugin_type, "--json", *(f"{COLLECTION}.{n}" for n in names))
        rendered[plugin_type] = json.loads(proc.stdout)
    return rendered


@pytest.fixture(scope="module")
def kt2_action():
    init_plugin_loader([str(ROOT / "collections")])
    from ansible_collections.kt2ops.platform.plugins.plugin_utils import kt2_action

    return kt2_action


@pytest.mark.parametrize("plugin_type", TYPES)
def test_ansible_doc_renders_every_plugin_with_a_description_of_its_own(docs, plugin_type):
    rendered = docs[plugin_type]
    assert sorted(rendered) == [f"{COLLECTION}.{n}" for n in TYPES[plugin_type]]
    for name, entry in rendered.items():
        doc = entry["doc"]
        assert doc.get("short_description") and doc.get("description"), f"{name} has no description"
        if plugin_type in {"module", "filter", "lookup"}:
            assert entry.get("examples"), f"{name} has no EXAMPLES"
            assert entry.get("return"), f"{name} has no RETURN"
    shorts = [entry["doc"]["short_description"] for entry in rendered.values()]
    assert len(set(shorts)) == len(shorts), f"{plugin_type} plugins share a description: {shorts}"


def test_ansible_doc_lists_every_action_plugin_as_a_module():
    listed = json.loads(run("ansible-doc", "-t", "module", "-l", COLLECTION, "--json").stdout)
    assert {f"{COLLECTION}.{name}" for name in ACTIONS} <= set(listed)


@pytest.mark.parametrize("name", ACTIONS)
def test_action_plugin_says_what_check_mode_and_diff_do_and_uses_the_shared_base(docs, kt2_action, name):
    attributes = docs["module"][f"{COLLECTION}.{name}"]["doc"]["attributes"]
    assert attributes["check_mode"]["support"] in {"full", "partial"}
    assert attributes["diff_mode"]["support"] in {"full", "partial", "none"}
    assert attributes["action"]["support"] == "full"
    assert issubclass(action_loader.get(f"{COLLECTION}.{name}", class_only=True), kt2_action.Kt2Action)


@pytest.mark.parametrize("name", ACTIONS)
def test_action_plugin_enforces_what_its_module_documents(docs, kt2_action, name):
    # A description with an unquoted comma in a flow mapping splits into stray keys: caught here.
    spec = kt2_action.argument_spec(f"{COLLECTION}.{name}")
    options = docs["module"][f"{COLLECTION}.{name}"]["doc"]["options"]
    assert spec and set(spec) == set(options)
    for option_name, option in spec.items():
        assert set(options[option_name]) - set(option) <= {"description"}, f"{name}: {option_name} has stray keys"
        assert option.get("type") in {"str", "int", "float", "bool", "path", "list", "dict"}, f"{name}: {option_name}"


def test_spec_from_options_keeps_everything_but_the_prose(kt2_action):
    options = yaml.safe_load("mode: {description: 'a, b.', type: str, default: a, choices: [a, b], version_added: '1'}")
    assert kt2_action.spec_from_options(options) == {"mode": {"type": "str", "default": "a", "choices": ["a", "b"]}}


@pytest.mark.parametrize("plugin_type", ["module", "lookup", "filter"])
def test_every_example_is_a_task_list_using_its_plugin_by_fqcn(docs, plugin_type):
    for name, entry in docs[plugin_type].items():
        tasks = yaml.safe_load(entry["examples"])
        assert isinstance(tasks, list) and tasks, f"{name}: EXAMPLES is not a list of tasks"
        assert all(isinstance(t, dict) and t.get("name") for t in tasks), f"{name}: every example task is named"
        assert name in entry["examples"], f"{name}: no example uses it by its FQCN"
        if plugin_type != "module":
            continue
        spec = {option: {k: v for k, v in doc.items() if k in SPEC_KEYS}
                for option, doc in entry["doc"]["options"].items()}
        for task in tasks:
            assert name in task, f"{name}: example {task['name']!r} calls another module"
            args = {k: v for k, v in task[name].items() if not (isinstance(v, str) and "{{" in v)}
            missing = {o for o, s in spec.items() if s.get("required")} - set(task[name])
            errors = ArgumentSpecValidator({o: {**s, "required": False} for o, s in spec.items()}).validate(
                args).error_messages
            assert not missing and not errors, f"{name}: example {task['name']!r}: {missing or errors}"
