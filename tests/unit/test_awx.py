"""The project as an AWX project: the runbook's workflows follow the runbook's order and wait for people at
the decisions, and awx/configure.yml calls awx.awx only with options its modules document.

AWX itself cannot run here (no registry, no Kubernetes); what AWX would read is checked against the runbook
catalogue and against awx.awx's own documentation instead."""

import json
import re

import pytest
import yaml
from ansible.parsing.utils.yaml import from_yaml
from packaging.specifiers import SpecifierSet

from kt2ops.awx import WorkflowError, workflow_nodes
from kt2ops.runbook.catalogue import catalogue
from tests.conftest import ROOT, run

AWX = ROOT / "awx"
WORKFLOWS = yaml.safe_load((AWX / "workflows.yml").read_text())["kt2_awx_workflows"]
CONFIGURE = from_yaml((AWX / "configure.yml").read_text())[0]  # Ansible's loader: it takes !unsafe
MIGRATION = next(w for w in WORKFLOWS if w["name"] == "kt2ops migration")


def graph(workflow):
    nodes = {n["identifier"]: n for n in workflow_nodes(workflow, "kt2ops")}
    targets = {e["identifier"] for n in nodes.values() for k in ("success_nodes", "failure_nodes")
               for e in n["related"][k]}
    return nodes, [i for i in nodes if i not in targets]


def success_path(nodes, start):
    path = [start]
    while nodes[path[-1]]["related"]["success_nodes"]:
        (nxt,) = nodes[path[-1]]["related"]["success_nodes"]
        path.append(nxt["identifier"])
    return [nodes[i]["unified_job_template"] for i in path]


def label(template):
    return template["name"].removeprefix("kt2ops runbook ").removeprefix("kt2ops approve ")


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w["name"])
def test_every_step_comes_after_the_steps_it_requires(workflow):
    nodes, roots = graph(workflow)
    assert len(roots) == 1, f"one start node, not {roots}"
    order = [label(t) for t in success_path(nodes, roots[0]) if t["type"] == "job_template"]
    for position, step in enumerate(order):
        for required in catalogue().step(step).requires:
            in_workflow = {label(n["unified_job_template"]) for n in nodes.values()}
            if required in in_workflow:
                assert required in order[:position], f"{step} runs before {required}, which it requires"


def test_every_automated_step_has_its_place_in_a_workflow():
    placed = [e["step"] for w in WORKFLOWS for path in ("path", "rollback") for e in w.get(path, []) if "step" in e]
    assert sorted(placed) == sorted(catalogue().steps), "each runbook step exactly once"


def test_the_migration_waits_for_people_before_the_o_gate_and_before_production_opens():
    nodes, (root,) = graph(MIGRATION)
    path = success_path(nodes, root)
    names = [label(t) for t in path]
    approvals = {label(t): i for i, t in enumerate(path) if t["type"] == "workflow_approval"}
    o_approval = next(i for name, i in approvals.items() if "O.9" in name and "O.10" in name)
    q_approval = next(i for name, i in approvals.items() if "Q.7" in name and "Q.8" in name)
    assert o_approval < names.index("O") < names.index("P.3")
    for step, spec in catalogue().steps.items():
        if {"Q.7", "Q.8"} & set(spec.decisions) and step in names:
            assert q_approval < names.index(step), f"{step} needs Q.7 and Q.8 but does not wait for them"
    assert names.index("Q") < q_approval


def test_failures_and_a_denied_go_lead_to_the_rollback_approval_and_only_then_to_r():
    nodes, _ = graph(MIGRATION)
    rollback_start = "rollback approval R"
    failing_to_rollback = {label(nodes[i]["unified_job_template"]) for i, n in nodes.items()
                           if {"identifier": rollback_start} in n["related"]["failure_nodes"]}
    assert failing_to_rollback == {"P.8", "Q", "Q.7 and Q.8"}
    assert nodes[rollback_start]["unified_job_template"]["type"] == "workflow_approval"
    assert [label(t) for t in success_path(nodes, rollback_start)] == ["R", "R"]  # approval R, then step R
    reaching_r = [i for i, n in nodes.items() if {"identifier": "rollback step R"} in n["related"]["success_nodes"]]
    assert reaching_r == [rollback_start]


@pytest.mark.parametrize(("workflow", "named"), [
    ({"name": "w", "path": [{"step": "L.1", "approval": "x"}]}, "w, path[0]: give exactly one of step or approval"),
    ({"name": "w", "path": [{"step": "L.1", "when": "x"}]}, "w, path[0]: unknown key(s) when"),
    ({"name": "w", "path": [{"step": "L.1", "on_failure": "rollback"}]}, "w, path[0]: on_failure takes rollback"),
    ({"name": "w", "path": []}, "workflow w: path is empty"),
])
def test_a_malformed_workflow_entry_is_named(workflow, named):
    with pytest.raises(WorkflowError, match=re.escape(named)):
        workflow_nodes(workflow, "kt2ops")


@pytest.fixture(scope="module")
def configure_tasks():
    return CONFIGURE["tasks"]


def test_configure_uses_only_documented_awx_options(configure_tasks):
    modules = sorted({m for t in configure_tasks for m in t if m.startswith("awx.awx.")})
    docs = json.loads(run("ansible-doc", "--json", *modules).stdout)
    for task in configure_tasks:
        (module,) = [m for m in task if m.startswith("awx.awx.")]
        options = docs[module]["doc"]["options"]
        known = set(options) | {a for o in options.values() for a in o.get("aliases", [])}
        assert set(task[module]) <= known, f"{task['name']}: {set(task[module]) - known} not options of {module}"
        required = {name for name, o in options.items() if o.get("required")}
        assert required <= set(task[module]), f"{task['name']}: missing {required - set(task[module])}"


def test_configure_names_the_job_templates_the_workflows_run_and_the_playbooks_exist(configure_tasks):
    by_name = {t["name"]: t for t in configure_tasks}
    steps = by_name["A job template per runbook step (the workflow passes kt2_domain and kt2_target)"]
    assert steps["awx.awx.job_template"]["name"] == "kt2ops runbook {{ item.id }}"
    for spec in catalogue().steps.values():
        assert (ROOT / "playbooks" / "runbook" / f"{spec.playbook}.yml").is_file()
    platform = by_name["A job template per platform playbook"]
    for book in CONFIGURE["vars"]["kt2_awx_platform_playbooks"]:
        assert (ROOT / "playbooks" / f"{book}.yml").is_file()
    assert platform["awx.awx.job_template"]["playbook"] == "playbooks/{{ item }}.yml"
    decision = by_name["The decision job template (run before approving an approval node)"]["awx.awx.job_template"]
    assert (ROOT / decision["playbook"]).is_file()
    asked = {q["variable"] for q in decision["survey_spec"]["spec"]}
    assert asked == {"kt2_domain", "kt2_decision", "kt2_decision_value", "kt2_decided_by", "kt2_decided_role",
                     "kt2_decision_reason"}


def test_configure_renders_the_workflow_nodes_through_ansible(tmp_path):
    """The filter as AWX's configuration run calls it: the nodes of both workflows come out of Ansible."""
    book = tmp_path / "render.yml"
    book.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False, "vars_files": [str(AWX / "workflows.yml")],
        "tasks": [{"ansible.builtin.debug": {
            "msg": "{{ kt2_awx_workflows | map('kt2ops.platform.awx_workflow_nodes', 'kt2ops') | list | to_json }}"}}],
    }]))
    proc = run("ansible-playbook", "-i", "localhost,", "-c", "local", str(book),
               env={"ANSIBLE_STDOUT_CALLBACK": "json"})
    rendered = json.loads(json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"])
    assert rendered == [workflow_nodes(w, "kt2ops") for w in WORKFLOWS]


def test_configure_is_a_valid_playbook():
    assert "playbook: awx/configure.yml" in run("ansible-playbook", "--syntax-check", "awx/configure.yml").stdout


def test_collection_requirements_name_every_collection_used_in_the_range_tested_here():
    """What an AWX project update installs (collections/requirements.yml) is what the playbooks, roles and
    awx/ use, and the versions this suite runs with lie in its ranges."""
    fqcn = re.compile(r"^\s*(?:- )?([a-z_]+\.[a-z_]+)\.[a-z_]+:", re.MULTILINE)
    used = {m for folder in ("playbooks", "roles", "awx") for path in (ROOT / folder).rglob("*.yml")
            for m in fqcn.findall(path.read_text())} - {"ansible.builtin", "kt2ops.platform"}
    required = yaml.safe_load((ROOT / "collections" / "requirements.yml").read_text())["collections"]
    assert {r["name"] for r in required} == used
    installed = {name: info["version"] for found in json.loads(
        run("ansible-galaxy", "collection", "list", "--format", "json").stdout).values()
        for name, info in found.items()}
    for requirement in required:
        assert SpecifierSet(requirement["version"]).contains(installed[requirement["name"]]), requirement
