"""kt13_server: healthy, a domain's mailbox filled by the generator, the freeze flag guards its config."""

import json

CALL = ("python3 -c \"import sys, urllib.request, urllib.error; r = urllib.request.Request(sys.argv[2], "
        "method=sys.argv[1], data=sys.argv[3].encode() or None, headers={'Content-Type': 'application/json'})\n"
        "try: print(urllib.request.urlopen(r).read().decode())\n"
        "except urllib.error.HTTPError as e: print(e.code)\" ")
BASE = "http://127.0.0.1:8090/_contract/domains/MOLTEST"


def _call(host, method, url, body=""):
    return host.run(CALL + f"{method} {url} '{body}'").stdout.strip()


def test_running_on_loopback(host):
    assert host.service("kt13-server").is_running
    assert [s for s in host.socket.get_listening_sockets() if s.endswith(":8090")] == ["tcp://127.0.0.1:8090"]


def test_generator_fills_and_freeze_guards(host):
    _call(host, "PUT", BASE, json.dumps({"name": "t", "applications": {"a": {}, "b": {}}}))
    _call(host, "POST", BASE + "/generate", json.dumps({"seed": 1, "clients": 10}))
    depth = json.loads(_call(host, "GET", BASE + "/depth"))
    assert depth["queued"] > 10
    _call(host, "PUT", BASE + "/freeze", json.dumps({"frozen": True}))
    assert _call(host, "PUT", BASE, json.dumps({"name": "changed", "applications": {}})) == "409"
    _call(host, "PUT", BASE + "/freeze", json.dumps({"frozen": False}))
    _call(host, "DELETE", BASE)
