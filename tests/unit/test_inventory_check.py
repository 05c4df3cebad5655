"""`kt2 inventory check`: the shipped inventories pass, every broken file gives its own error."""

import json
import re
from pathlib import Path

import pytest
import yaml

from kt2ops.inventory.check import check_inventory
from tests.conftest import ROOT, run

BROKEN = sorted((Path(__file__).parent / "broken_domains").glob("*.yml"))


@pytest.mark.parametrize("inventory", ["lab", "example"])
def test_shipped_inventories_pass(inventory):
    report = check_inventory(ROOT / "inventories" / inventory)
    assert report.errors == []
    assert report.domains


@pytest.mark.parametrize("inventory", ["lab", "example"])
def test_ansible_reads_only_the_inventory_sources_without_a_warning(inventory):
    """Domain files and cleaning rules sit beside the hosts; Ansible must not try them as inventory."""
    proc = run(".venv/bin/ansible-inventory", "-i", f"inventories/{inventory}", "--graph")
    assert "WARNING" not in proc.stderr, proc.stderr
    assert "@kt2:" in proc.stdout


def test_lab_ships_three_domains_one_large():
    report = check_inventory(ROOT / "inventories" / "lab")
    assert len(report.domains) >= 3
    files = [yaml.safe_load(p.read_text()) for p in (ROOT / "inventories/lab/domains").glob("*.yml")]
    # The large one: 50,000 clients declared, of which the lab holds ten times as many as any other domain.
    large, *others = sorted(files, key=lambda d: -d["synthetic_data"]["clients"])
    assert large["migration"]["expected_counts"]["Patient"] >= 50_000
    assert all(large["synthetic_data"]["clients"] >= 10 * d["synthetic_data"]["clients"] for d in others)


@pytest.mark.parametrize("broken", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_domain_file_gives_its_error(broken, inventory_copy):
    expected = broken.read_text().splitlines()[0].removeprefix("# expect: ")
    target = inventory_copy / "domains" / broken.name
    target.write_text(broken.read_text())
    before = {p: p.read_bytes() for p in inventory_copy.rglob("*") if p.is_file()}

    report = check_inventory(inventory_copy)

    mine = [str(f).split(": ", 1)[1] for f in report.errors if f.file == str(target)]
    assert any(m.startswith(expected) for m in mine), f"expected {expected!r}, got {mine}"
    # Only the broken file is blamed, and the check changed no file.
    assert {f.file for f in report.errors} == {str(target)}
    assert before == {p: p.read_bytes() for p in inventory_copy.rglob("*") if p.is_file()}


def test_field_errors_carry_the_line(inventory_copy):
    broken = Path(__file__).parent / "broken_domains" / "unknown-environment.yml"
    (inventory_copy / "domains" / broken.name).write_text(broken.read_text())
    [finding] = check_inventory(inventory_copy).errors
    line = broken.read_text().splitlines()[finding.line - 1]
    assert "tst9" in line


def test_cli_reports_file_line_field_and_exits_1(inventory_copy):
    broken = Path(__file__).parent / "broken_domains" / "unknown-role.yml"
    (inventory_copy / "domains" / broken.name).write_text(broken.read_text())
    proc = run(".venv/bin/kt2", "inventory", "check", "-i", str(inventory_copy), check=False)
    assert proc.returncode == 1
    assert re.search(r"unknown-role\.yml:\d+: applications\[1\]\.role: unknown role 'ghost'", proc.stderr)
    as_json = json.loads(run(".venv/bin/kt2", "inventory", "check", "-i", str(inventory_copy), "--json",
                             check=False).stdout)
    assert as_json["ok"] is False and as_json["errors"][0]["field"] == "applications[1].role"


def _edit_env(inventory: Path, env: str, **changes) -> Path:
    path = inventory / "group_vars" / f"{env}.yml"
    data = yaml.safe_load(path.read_text())
    data["kt2_env"].update(changes)
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("env", "changes", "expected"), [
    ("mgr2", {"data_class": "test"}, "kt2_env.data_class: environment C of appendix A holds 'production_copy' data"),
    ("prd2", {"network": "10.221.21.128/25"},
     "kt2_env.network: 10.221.21.128/25 overlaps 10.221.21.0/24 of environment 'acc21'"),
    ("acc22", {"id": "acc23"}, "kt2_env.id: is 'acc23' but must be 'acc22'"),
    ("acc22", {"appendix_a": "A"}, "kt2_env.appendix_a: letter A is already environment 'acc21'"),
    ("acc21", {"network": "10.221.21.0/33"}, "kt2_env.network: '10.221.21.0/33' is not a valid ipv4-network"),
    ("acc21", {"kind": "kt13"}, "kt2_env.kind: is 'kt13' but must be 'kt2'"),
])
def test_broken_environment_facts(inventory_copy, env, changes, expected):
    path = _edit_env(inventory_copy, env, **changes)
    messages = [str(f).split(": ", 1)[1] for f in check_inventory(inventory_copy).errors if f.file == str(path)]
    assert any(m.startswith(expected) for m in messages), messages


def test_environment_without_facts(inventory_copy):
    (inventory_copy / "group_vars" / "mgr2.yml").unlink()
    messages = [str(f) for f in check_inventory(inventory_copy).errors]
    assert any("kt2_env: environment 'mgr2' has no kt2_env facts in group_vars" in m for m in messages)


def test_domain_on_an_environment_with_invalid_facts_is_reported(inventory_copy):
    # A domain may only be placed on environments whose facts are valid.
    _edit_env(inventory_copy, "mgr2", data_class="test")
    files = {Path(f.file).name for f in check_inventory(inventory_copy).errors}
    assert {"mgr2.yml", "ggz-noorderlicht.yml"} <= files


def test_unparseable_inventory(tmp_path):
    (tmp_path / "hosts.yml").write_text("all:\n  children: [oops\n")
    report = check_inventory(tmp_path)
    assert len(report.errors) == 1 and "Ansible cannot parse the inventory" in report.errors[0].message


def _edit_yaml(path, edit):
    import yaml

    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_production_window_before_six_names_file_and_field(inventory_copy):
    def early(data):
        data["kt2_maintenance"]["windows"][0]["from"] = "09:00"

    path = _edit_yaml(inventory_copy / "group_vars" / "prd2.yml", early)
    [finding] = check_inventory(inventory_copy).errors
    assert finding.file == str(path) and "kt2_maintenance.windows" in str(finding) and "18:00" in str(finding)


def test_bad_appendix_b_records_name_file_and_field(inventory_copy):
    def broken(data):
        del data["kt2_people"][0]["vog"]["expires"]
        data["kt2_suppliers"][0]["incident_procedure"]["expires"] = "soon"

    path = _edit_yaml(inventory_copy / "group_vars" / "all.yml", broken)
    messages = [str(f) for f in check_inventory(inventory_copy).errors]
    assert any("kt2_people[0].vog: 'expires' is a required property" in m for m in messages), messages
    assert any("kt2_suppliers[0].incident_procedure.expires: 'soon'" in m for m in messages), messages
    assert all(m.startswith(str(path)) for m in messages)


def test_a_person_on_an_unknown_environment_is_named(inventory_copy):
    path = _edit_yaml(inventory_copy / "group_vars" / "all.yml",
                      lambda data: data["kt2_people"][1]["environments"].append("prd9"))
    [finding] = check_inventory(inventory_copy).errors
    assert finding.file == str(path) and "kt2_people[1].environments[3]: no environment 'prd9'" in str(finding)
