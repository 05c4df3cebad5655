"""What kt2_firewall promises, checked on the converged host."""

import json


def _ruleset(host) -> list[dict]:
    return json.loads(host.check_output("nft -j list ruleset"))["nftables"]


def test_ruleset_loaded_and_enabled_at_boot(host):
    assert host.service("nftables").is_enabled
    chains = {c["chain"]["name"]: c["chain"] for c in _ruleset(host) if "chain" in c}
    assert chains["input"]["policy"] == "drop"
    assert chains["forward"]["policy"] == "drop"


def test_other_environments_are_the_inventorys_networks(host):
    sets = [s["set"] for s in _ruleset(host) if "set" in s]
    elements = next(s["elem"] for s in sets if s["name"] == "other_environments")
    prefixes = {f"{e['prefix']['addr']}/{e['prefix']['len']}" if isinstance(e, dict) else e for e in elements}
    assert prefixes == {"10.221.2.0/24", "10.221.12.0/24", "127.0.0.2"}


def test_connection_to_another_environment_is_refused(host):
    # Something listens on 127.0.0.2:2222 ... and the firewall still refuses to connect to it.
    host.run("python3 -m http.server --bind 127.0.0.2 2222 >/dev/null 2>&1 & sleep 1")
    probe = host.run("timeout 3 bash -c '</dev/tcp/127.0.0.2/2222'")
    assert probe.rc != 0
    assert host.run("timeout 3 bash -c '</dev/tcp/127.0.0.1/22'").rc == 0
