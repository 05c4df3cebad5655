"""kt2_service: a unit running as its own user, healthy, reachable on loopback only."""

import json


def test_unit_runs_as_its_user(host):
    service = host.service("kt2-app-service")
    assert service.is_running and service.is_enabled
    user = host.run("systemctl show -p User --value kt2-app-service").stdout.strip()
    assert user == "kt2_apps"
    assert host.user("kt2_apps").shell == "/usr/sbin/nologin"


def test_health_on_loopback_only(host):
    answer = host.run("python3 -c \"import urllib.request; "
                      "print(urllib.request.urlopen('http://127.0.0.1:8070/_contract/health').read().decode())\"")
    assert json.loads(answer.stdout)["status"] == "ok"
    listening = [s for s in host.socket.get_listening_sockets() if s.endswith(":8070")]
    assert listening == ["tcp://127.0.0.1:8070"]


def test_configuration_readable_by_the_service_only(host):
    config = host.file("/etc/kt2ops/kt2-app-service.json")
    assert config.mode == 0o640 and config.group == "kt2_apps"
    assert host.file("/var/lib/kt2ref/kt2-app-service").mode == 0o700
