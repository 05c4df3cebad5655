"""Pure parts of the reference services: the synthetic-data generator (the token rules:
test_auth_tokens.py)."""

import json
from collections import Counter

from kt2ref.kt13.generator import generate
from kt2ref.kt13.messages import EVENTS, header_of


def _messages(seed, clients, domain="D"):
    return [json.dumps(m, sort_keys=True) for m in generate(domain, seed, clients, {"a": set(), "b": set()})]


def test_same_seed_same_data_other_seed_other_data():
    assert _messages(5, 30) == _messages(5, 30)
    assert _messages(5, 30) != _messages(6, 30)


def test_scales_with_clients_and_uses_only_kt13_events():
    small, large = list(generate("D", 1, 20, {"a": set()})), list(generate("D", 1, 200, {"a": set()}))
    assert len(large) > 5 * len(small)
    for _, bundle in small:
        assert header_of(bundle)["event"]["code"] in EVENTS


def _kt2_counts(messages) -> Counter:
    """What the messages become in KT 2.0, per type (a CarePlan's activities become Tasks; a newer version of
    a person replaces it)."""
    held: dict[str, set[str]] = {}
    for _, bundle in messages:
        resource = bundle["entry"][1]["resource"]
        if resource["resourceType"] == "CarePlan":
            held.setdefault("Task", set()).update(a["id"] for a in resource["activity"])
        else:
            held.setdefault(resource["resourceType"], set()).add(resource["id"])
    return Counter({kind: len(ids) for kind, ids in held.items()})


def test_counts_follow_the_proportions_the_domain_file_declares():
    declared = {"Patient": 1600, "RelatedPerson": 2900, "Practitioner": 75, "CareTeam": 1600, "Task": 9800}
    apps = {"ecd": {"Patient", "Practitioner", "RelatedPerson", "CareTeam", "Task"}}
    made = _kt2_counts(generate("D", 3, 400, apps, declared))
    for kind, count in declared.items():  # a quarter of the domain: 400 of its 1,600 clients
        assert abs(made[kind] - count / 4) <= 0.1 * count / 4, (kind, made[kind], count / 4)
    # A type the file does not count keeps the generator's own proportion; no count at all, the same.
    assert made["ActivityDefinition"] == _kt2_counts(generate("D", 3, 400, apps))["ActivityDefinition"]
    plain = _kt2_counts(generate("D", 3, 400, apps))
    assert abs(plain["Task"] - 2.5 * 400) <= 100 and abs(plain["RelatedPerson"] - 0.33 * 400) <= 40


def test_each_type_comes_from_an_application_whose_role_may_create_it():
    ehr = {"Patient", "Practitioner", "RelatedPerson", "Task"}
    senders = {}
    for sender, bundle in generate("D", 1, 60, {"ecd": ehr, "module": {"ActivityDefinition"}, "portal": set()}):
        senders.setdefault(bundle["entry"][1]["resource"]["resourceType"], set()).add(sender)
    assert senders["ActivityDefinition"] == {"module"}
    assert senders["Patient"] == senders["Practitioner"] == senders["RelatedPerson"] == senders["CarePlan"] == {"ecd"}
    assert senders["CarePlanActivityStatus"] == {"ecd", "module", "portal"}  # status updates come from anyone


def test_each_identifier_belongs_to_one_person():
    """P.1 refuses an identifier two persons share, so a generated domain must never hold one (a large one:
    thousands of second identifiers per type)."""
    owners: dict[tuple[str, str], set[str]] = {}
    counts = {"Patient": 1600, "RelatedPerson": 2900, "Practitioner": 75}
    for _, bundle in generate("D", 4, 6000, {"a": set()}, counts):
        resource = bundle["entry"][1]["resource"]
        for identifier in resource.get("identifier", []):
            owners.setdefault((identifier["system"], identifier["value"]), set()).add(resource["id"])
    assert sum(system.endswith(":registration") for system, _ in owners) > 3000
    assert {key: ids for key, ids in owners.items() if len(ids) > 1} == {}


def test_no_real_identifiers():
    for _, bundle in generate("D", 1, 50, {"a": set()}):
        for identifier in bundle["entry"][1]["resource"].get("identifier", []):
            assert identifier["system"].startswith("urn:kt2ops:synthetic")
