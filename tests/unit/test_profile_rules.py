"""The FHIR server's rule file (services/kt2fhir/src/main/resources/kt2-profiles.json, read by HAPI and by the
migration's validation) holds every rule of the fact sheet as tests/fact_sheet.py writes it out from
../shared/KT2-PROFILES.md: a rule left out there is named here, before the lab's test_42 meets it."""

import json

import pytest

from kt2ops.paths import PROJECT_ROOT
from tests.fact_sheet import FACT_SHEET

RULES = json.loads((PROJECT_ROOT / "services/kt2fhir/src/main/resources/kt2-profiles.json").read_text())


def test_the_rule_file_profiles_the_types_the_fact_sheet_does():
    assert sorted(k for k in RULES if not k.startswith("_")) == sorted(FACT_SHEET)


@pytest.mark.parametrize("kind", sorted(FACT_SHEET))
def test_the_rule_file_holds_each_rule_of_the_fact_sheet(kind):
    sheet, rules = FACT_SHEET[kind], RULES[kind]
    assert sorted(set(sheet["required"]) - set(rules.get("required", []))) == []
    assert {path: rules.get("fixed", {}).get(path) for path in sheet.get("fixed", {})} == sheet.get("fixed", {})
    assert sorted(set(sheet.get("codes", [])) - set(rules.get("codes", {}))) == []
