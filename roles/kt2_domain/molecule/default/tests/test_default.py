"""kt2_domain: the domain file's tenant exists with its Organization and one Device and Endpoint per
application, the domain admin application (kt2ops-admin) included."""

import json


def _get(host, path):
    out = host.run(f"python3 -c \"import urllib.request; "
                   f"print(urllib.request.urlopen('http://127.0.0.1:8080/_contract{path}').read().decode())\"")
    return json.loads(out.stdout)


def test_domain_registered(host):
    assert [d["id"] for d in _get(host, "/domains")["domains"]] == ["molecule-domain"]


def test_organization_device_and_endpoint(host):
    counts = _get(host, "/domains/molecule-domain/totals")["counts"]
    assert counts == {"Device": 2, "Endpoint": 2, "Organization": 1}
