"""Pure parts of the reference services: the synthetic-data generator (the token rules:
test_auth_tokens.py)."""

import json

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


def test_each_type_comes_from_an_application_whose_role_may_create_it():
    ehr = {"Patient", "Practitioner", "RelatedPerson", "Task"}
    senders = {}
    for sender, bundle in generate("D", 1, 60, {"ecd": ehr, "module": {"ActivityDefinition"}, "portal": set()}):
        senders.setdefault(bundle["entry"][1]["resource"]["resourceType"], set()).add(sender)
    assert senders["ActivityDefinition"] == {"module"}
    assert senders["Patient"] == senders["Practitioner"] == senders["RelatedPerson"] == senders["CarePlan"] == {"ecd"}
    assert senders["CarePlanActivityStatus"] == {"ecd", "module", "portal"}  # status updates come from anyone


def test_no_real_identifiers():
    for _, bundle in generate("D", 1, 50, {"a": set()}):
        for identifier in bundle["entry"][1]["resource"].get("identifier", []):
            assert identifier["system"].startswith("urn:kt2ops:synthetic")
