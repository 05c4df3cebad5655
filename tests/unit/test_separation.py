"""Appendix B.5 derived from the inventory: which networks to refuse, which configuration to refuse."""

from kt2ops.security.separation import foreign_references, other_networks

ENVS = [
    {"id": "acc22", "network": "10.221.22.0/24", "service_hostname": "acc22.koppeltaal.test"},
    {"id": "mgr2", "network": "10.221.2.0/24", "service_hostname": "mgr2.koppeltaal.test"},
    {"id": "prd2", "network": "10.221.12.0/24", "service_hostname": "prd2.koppeltaal.test"},
]


def test_other_networks_are_every_environment_but_this_one():
    assert other_networks(ENVS, "mgr2") == ["10.221.22.0/24", "10.221.12.0/24"]


def test_configuration_inside_its_own_environment_passes():
    config = {"kt2_service_config": {"fhir": "https://mgr2.koppeltaal.test/api/", "db": "127.0.0.1"},
              "kt2_listen": ["10.221.2.10"]}
    assert foreign_references(config, ENVS, "mgr2") == []


def test_a_host_name_or_address_of_another_environment_is_named_with_its_path():
    config = {"kt2_service_config": {"upstream": {"fhir": "https://prd2.koppeltaal.test/api/"}},
              "kt2_sync_targets": ["10.221.2.10", "backup via 10.221.22.7:5432"]}
    found = foreign_references(config, ENVS, "mgr2")
    assert found == [
        "kt2_service_config.upstream.fhir: 'https://prd2.koppeltaal.test/api/' points at prd2",
        "kt2_sync_targets[1]: 'backup via 10.221.22.7:5432' points at acc22",
    ]


def test_version_numbers_are_not_addresses():
    assert foreign_references({"kt2_release": "10.221.22.70.1"}, ENVS, "mgr2") == []
