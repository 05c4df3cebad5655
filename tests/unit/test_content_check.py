"""Q.2's content check judges the migration by the KT 1.3 messages, not by its own mapping: on synthetic KT 1.3
traffic (the lab's generator), the real staging and mapping give no difference; a mapping that drops or alters
a field is named, resource and element. The target is faked at the FHIR boundary (resources held in memory)."""

import json
from collections import Counter
from datetime import UTC, datetime

import pytest
from kt2ref.kt13.generator import generate

from kt2ops.migration import mapping
from kt2ops.migration.content import CARRIED, INSTANTIATES, differences, source_facts, target_facts
from kt2ops.migration.stage import TYPES_IN_ORDER, Staging

KT13 = "https://kt13.example/kt13/NOORD/FHIR/Koppeltaal"  # the domain's FHIR base on KT 1.3
SCOPE = {"dossiers": "open_and_closed", "history_months": {"default": 240}}
APPLICATIONS = {"ecd": {"Patient", "Practitioner", "RelatedPerson", "CareTeam", "Task"},
                "module": {"ActivityDefinition"}}
# Elements real domains leave out on some resources: the generator must leave them out too.
OPTIONAL = {("Patient", "telecom"), ("Patient", "address"), ("RelatedPerson", "telecom"),
            ("RelatedPerson", "address"), ("CareTeam", "name"), ("ActivityDefinition", "description")}


class MappedTarget:
    """What a FHIR server holds after the staged export is published with `mapping.to_fhir`."""

    def __init__(self, staging):
        self.resources = {kind: [] for kind in TYPES_IN_ORDER}
        refer = lambda kind, source_id: f"{kind}/srv-{source_id}"  # noqa: E731
        for kind in TYPES_IN_ORDER:
            for row in staging.staged(kind):
                resource = mapping.to_fhir(kind, row, KT13, refer, "Organization/org", "Device/app")
                self.resources[kind].append({**resource, "id": f"srv-{row['source_id']}"})

    def search_all(self, kind, **params):
        return iter(self.resources[kind])


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "export.jsonl"
    with path.open("w") as out:
        for seq, (sender, bundle) in enumerate(generate("noord", 7, 60, APPLICATIONS), start=1):
            header = bundle["entry"][0]["resource"]
            out.write(json.dumps({"seq": seq, "id": header["id"], "event": header["event"]["code"], "sender": sender,
                                  "status": "Success", "received": header["timestamp"], "bundle": bundle}) + "\n")
    return path


def _target(export, tmp_path):
    staging = Staging.build(export, tmp_path / "staging.sqlite", SCOPE, datetime(2026, 11, 23, tzinfo=UTC))
    try:
        return MappedTarget(staging)
    finally:
        staging.close()


def test_a_faithful_migration_has_no_difference(export, tmp_path):
    target = _target(export, tmp_path)
    compared, _, found = differences(source_facts(export, KT13, tmp_path / "facts.sqlite"), target_facts(target))
    assert found == []
    assert compared == sum(len(r) for r in target.resources.values())
    assert {k: len(v) for k, v in target.resources.items()}["Task"] > 60  # 1 to 4 activities per client


def test_a_mapping_that_drops_a_field_is_named_with_resource_and_element(export, tmp_path, monkeypatch):
    monkeypatch.setitem(mapping.COPIED, "Patient", ("name", "telecom", "address"))  # gender, birthDate lost
    target = _target(export, tmp_path)
    _, _, found = differences(source_facts(export, KT13, tmp_path / "facts.sqlite"), target_facts(target), limit=1000)
    patients = [p["id"].removeprefix("srv-") for p in target.resources["Patient"]]
    assert len(found) == 2 * len(patients) > 0
    assert {line.split(": ")[1] for line in found} == {"birthDate", "gender"}
    assert found[0].startswith(f"Patient {KT13}/Patient/{patients[0]}: gender: KT 1.3 '")
    assert found[0].endswith(", KT 2.0 None")
    # With the default limit every resource is still compared and counted; the first 20 are listed.
    source = source_facts(export, KT13, tmp_path / "facts.sqlite")
    compared, differing, listed = differences(source, target_facts(target))
    assert compared == sum(len(r) for r in target.resources.values()) and differing == len(patients)
    assert listed == found[:2 * min(differing, 20)]


def test_a_mapping_that_alters_a_task_status_is_named(export, tmp_path, monkeypatch):
    monkeypatch.setitem(mapping.ACTIVITY_STATUS, "Completed", "in-progress")
    target = _target(export, tmp_path)
    source = source_facts(export, KT13, tmp_path / "facts.sqlite")
    completed = [link for link, facts in source.items()
                 if "/CarePlanActivity/" in link and facts["status"] == "completed"]
    _, _, found = differences(source, target_facts(target), limit=1000)
    assert len(found) == len(completed) > 0
    assert sorted(found) == sorted(f"Task {link}: status: KT 1.3 'completed', KT 2.0 'in-progress'"
                                   for link in completed)


def test_a_resource_the_export_never_held_is_named(export, tmp_path):
    target = _target(export, tmp_path)
    stray = {**target.resources["Practitioner"][0], "id": "srv-x",
             "identifier": [{"use": "temp", "system": mapping.migration_system("Practitioner"),
                             "value": f"{KT13}/Practitioner/x"}]}
    target.resources["Practitioner"].append(stray)
    _, _, found = differences(source_facts(export, KT13, tmp_path / "facts.sqlite"), target_facts(target))
    assert found == [f"Practitioner {KT13}/Practitioner/x: not in the KT 1.3 export"]


def _by_kind(source):
    found = {}
    for link, facts in source.items():
        kind = link.split("/")[-2]
        found.setdefault("Task" if kind == "CarePlanActivity" else kind, []).append(facts)
    return found


def test_the_generator_states_every_element_the_migration_carries_as_real_domains_do(export, tmp_path):
    by_kind = _by_kind(source_facts(export, KT13, tmp_path / "facts.sqlite"))
    for kind, elements in CARRIED.items():
        for element in elements:
            values = [facts[element] for facts in by_kind[kind]]
            assert any(values), f"no {kind} states {element}: a mapping that lost it would go unseen"
            if (kind, element) in OPTIONAL:
                assert not all(values), f"every {kind} states {element}; real domains leave it out at times"
    tasks = by_kind["Task"]
    owners = Counter(t["owner"].split("/")[-2] if t["owner"] != t["for"] else "the client" for t in tasks)
    assert owners.keys() == {"Practitioner", "RelatedPerson", "the client"}
    members = Counter(m.split("/")[-2] for team in by_kind["CareTeam"] for m in team["member"])
    assert members.keys() == {"Practitioner", "RelatedPerson"}
    assert {d["status"] for d in by_kind["ActivityDefinition"]} == {"active", "retired", "draft"}
    people = by_kind["Patient"] + by_kind["RelatedPerson"] + by_kind["Practitioner"]
    assert any(len(p["identifier"]) > 1 for p in people)
    assert any(not json.dumps(p["name"], ensure_ascii=False).isascii() for p in people)
    sent = Counter(json.loads(line)["bundle"]["entry"][1]["resource"]["id"] for line in export.open()
                   if '"CreateOrUpdatePatient"' in line)
    assert max(sent.values()) == 2  # some clients' first version was replaced by a newer one


def _accessor(element):
    """How to read and write a carried element on a migrated resource (FHIR's names and places)."""
    if element == "identifier":  # the business identifiers; the migration's own stays, to find the resource by
        return (lambda r: [i for i in r["identifier"] if i.get("use") != "temp"],
                lambda r, v: r.update(identifier=[*v, *[i for i in r["identifier"] if i.get("use") == "temp"]]))
    if element == "activity":
        return (lambda r: [e for e in r.get("extension", []) if e["url"] == INSTANTIATES],
                lambda r, v: r.update(extension=[*[e for e in r["extension"] if e["url"] != INSTANTIATES], *v]))
    key = {"member": "participant"}.get(element, element)
    return lambda r: r.get(key), lambda r, v: r.update({key: v}) if v is not None else r.pop(key, None)


@pytest.mark.parametrize("how", ["dropped", "misdirected"])
@pytest.mark.parametrize(("kind", "element"), [(k, e) for k, elements in CARRIED.items() for e in elements])
def test_any_carried_element_dropped_or_misdirected_is_named(export, tmp_path, kind, element, how):
    """A mapping that loses the element, or gives each resource another's, fails Q.2 naming the element."""
    target = _target(export, tmp_path)
    get, put = _accessor(element)
    resources = target.resources[kind]
    values = [get(r) for r in resources]
    for resource, value in zip(resources, values[1:] + values[:1] if how == "misdirected" else [None] * len(values),
                               strict=True):
        put(resource, value if value is not None or element not in ("identifier", "activity") else [])
    _, differing, found = differences(source_facts(export, KT13, tmp_path / "facts.sqlite"), target_facts(target),
                                      limit=10_000)
    assert differing > 0
    assert {line.split(": ")[1] for line in found} == {element}
    assert all(line.startswith(f"{kind} {KT13}/") for line in found)
