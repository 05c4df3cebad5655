"""Pure parts of the reference services: the synthetic-data generator and FHIR validation (the token rules:
test_auth_tokens.py)."""

import json

import pytest
from kt2ref.common import BadRequest
from kt2ref.kt13.generator import generate
from kt2ref.kt13.messages import EVENTS, header_of
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


def test_validation_names_the_element():
    with pytest.raises(BadRequest, match=r"Task\.intent"):
        validate({"resourceType": "Task", "status": "ready"})
    with pytest.raises(BadRequest, match="not supported"):
        validate({"resourceType": "Observation"})


def test_statistics_are_refreshed_once_per_batch_of_rows_written_and_one_at_a_time():
    import asyncio
    from contextlib import asynccontextmanager

    from kt2ref.resource_service.statistics import FreshStatistics

    class Pool:
        def __init__(self):
            self.statements = []

        @asynccontextmanager
        async def connection(self):
            class Conn:
                async def execute(inner, sql):
                    self.statements.append(sql)
                    await asyncio.sleep(0.01)
            yield Conn()

    async def scenario():
        pool, statistics = Pool(), FreshStatistics(rows_between=100)
        for _ in range(3):
            statistics.written += 60
            statistics.committed(pool)  # 60, 120 (analyze), 60 again while it runs: nothing
        await statistics.running
        statistics.written += 60
        statistics.committed(pool)  # 120 since the last one: the next
        await statistics.running
        return pool.statements

    assert asyncio.run(scenario()) == ["ANALYZE resources, identifiers"] * 2
