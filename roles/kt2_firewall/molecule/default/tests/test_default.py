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


def _refused_to_other_environments(host) -> int:
    """Packets the B.5 output rule has rejected so far (its counter)."""
    rule = next(r["rule"] for r in _ruleset(host)
                if "rule" in r and r["rule"].get("comment", "").startswith("B.5: nothing to another"))
    return next(e["counter"]["packets"] for e in rule["expr"] if "counter" in e)


def test_connection_to_another_environment_is_refused(host):
    # Something listens on port 2222 of every address (seen in the kernel's socket table before the probe; up to
    # 60 s for python3 to start in an instance with the least CPU weight while four HAPI servers start beside it)
    # and answers at an address of this environment: the twin ...
    host.run("python3 -m http.server --bind 0.0.0.0 2222 >/dev/null 2>&1 &")
    listening = "for i in $(seq 600); do grep -qi ' 00000000:08AE 00000000:0000 0A ' /proc/net/tcp && exit 0; " \
                "sleep 0.1; done; exit 1"
    assert host.run(listening).rc == 0
    assert host.run("timeout 3 bash -c '</dev/tcp/127.0.0.1/2222'").rc == 0
    before = _refused_to_other_environments(host)
    # ... while the same connection to another environment is refused at once (the rule's reject, not a drop's
    # timeout), and by the B.5 rule (its counter moved), not for want of a server.
    refused = host.run("timeout 3 bash -c '</dev/tcp/127.0.0.2/2222'")
    assert refused.rc == 1 and "Connection refused" in refused.stderr
    assert _refused_to_other_environments(host) > before
