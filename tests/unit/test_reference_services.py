"""Pure parts of the reference services: the synthetic-data generator, the scope rules and the token key."""

import json
import multiprocessing
import secrets
from types import SimpleNamespace

import pytest
from kt2ref.common import BadRequest
from kt2ref.kt13.generator import generate
from kt2ref.kt13.messages import EVENTS, header_of
from kt2ref.resource_service import auth
from kt2ref.resource_service.auth import Grant, role_scopes
from kt2ref.resource_service.fhir import validate


def _messages(seed, clients, domain="D"):
    return [json.dumps(m, sort_keys=True) for m in generate(domain, seed, clients, ["a", "b"])]


def test_same_seed_same_data_other_seed_other_data():
    assert _messages(5, 30) == _messages(5, 30)
    assert _messages(5, 30) != _messages(6, 30)


def test_scales_with_clients_and_uses_only_kt13_events():
    small, large = list(generate("D", 1, 20, ["a"])), list(generate("D", 1, 200, ["a"]))
    assert len(large) > 5 * len(small)
    for _, bundle in small:
        assert header_of(bundle)["event"]["code"] in EVENTS


def test_no_real_identifiers():
    for _, bundle in generate("D", 1, 50, ["a"]):
        for identifier in bundle["entry"][1]["resource"].get("identifier", []):
            assert identifier["system"].startswith("urn:kt2ops:synthetic")


def test_role_scopes_limit_own_resources_to_the_device():
    role = {"permissions": [{"resource": "Patient", "operations": ["read"], "scope": "all"},
                            {"resource": "Task", "operations": ["create", "read", "update"], "scope": "own"}]}
    assert role_scopes(role, "dev1") == ["system/Patient.rs", "system/Task.crsu?resource-origin=Device/dev1"]


def test_grant_reach():
    grant = Grant("app", "dev1", None, (("Patient", "rs", None), ("Task", "crsu", "Device/dev1")))
    assert grant.reach("Patient", "r") == "all"
    assert grant.reach("Task", "u") == "Device/dev1"
    with pytest.raises(BadRequest, match="does not allow 'u' on Patient"):
        grant.reach("Patient", "u")


def test_validation_names_the_element():
    with pytest.raises(BadRequest, match=r"Task\.intent"):
        validate({"resourceType": "Task", "status": "ready"})
    with pytest.raises(BadRequest, match="not supported"):
        validate({"resourceType": "Observation"})


def _key_made_slowly(state_dir, keys, started, proceed):
    """A worker caught in the middle of making the key (in its own process only) until told to go on."""

    def token_bytes(n):
        started.set()
        proceed.wait(10)
        return secrets.token_bytes(n)

    auth.secrets = SimpleNamespace(token_bytes=token_bytes)
    keys.put(auth.token_secret(state_dir))


def test_workers_starting_together_sign_with_one_whole_key(tmp_path):
    context = multiprocessing.get_context("fork")
    keys, started, proceed = context.Queue(), context.Event(), context.Event()
    slow = context.Process(target=_key_made_slowly, args=(str(tmp_path), keys, started, proceed))
    slow.start()
    assert started.wait(10), "the other worker never began its key"
    key = auth.token_secret(str(tmp_path))  # while the other worker is inside its key-making, every time
    proceed.set()
    other = keys.get(timeout=10)
    slow.join()
    assert len(key) == 32 and key == other
    assert [p.name for p in tmp_path.iterdir()] == ["token.secret"]
    assert (tmp_path / "token.secret").stat().st_mode & 0o777 == 0o600
