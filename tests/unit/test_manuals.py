"""The manuals hold together: every relative link in the README, docs/ and the roles' READMEs leads to a file
that exists, every role has a README that says how to read its variables and what uses and tests it, and the
element table lists what the content check compares."""

import re

import pytest

from kt2ops.migration.content import CARRIED
from tests.conftest import ROOT

ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir())
MANUALS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
           *(ROOT / "roles" / r / "README.md" for r in ROLES)]


@pytest.mark.parametrize("manual", MANUALS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file(manual):
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", manual.read_text())
    broken = [link for link in links if "://" not in link and not (manual.parent / link).exists()]
    assert broken == []


@pytest.mark.parametrize("role", ROLES)
def test_every_role_says_where_its_variables_are_and_what_uses_and_tests_it(role):
    text = (ROOT / "roles" / role / "README.md").read_text()
    assert f"`ansible-doc -t role {role}`" in text
    users = re.search(r"\*\*Used by\*\*: (.+)", text).group(1).split(", ")
    for user in users:  # a playbook, or "role X" (its tasks or its dependencies)
        other = ROOT / "roles" / user.removeprefix("role ")
        files = [ROOT / user] if user.startswith("playbooks/") else [*other.glob("tasks/*.yml"),
                                                                     other / "meta/main.yml"]
        assert any(re.search(rf"(role|name): {role}\s*$", f.read_text(), re.M) for f in files), user
    assert (ROOT / "roles" / role / "molecule" / "default").is_dir()


def test_the_element_table_lists_every_element_the_content_check_compares():
    rows = re.findall(r"^\| (\w+) \| (\w+) \| .+ \|$", (ROOT / "docs/operations.md").read_text(), re.M)
    listed = [(kind, element) for kind, element in rows if kind in CARRIED]
    assert len(listed) == len(set(listed))
    assert set(listed) == {(kind, element) for kind, elements in CARRIED.items() for element in elements}
