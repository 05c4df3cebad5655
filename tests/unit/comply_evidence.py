"""A compliant evidence document for two environments (mgr2, prd2), built the way `kt2 comply`
collects it, for tests to break one fact at a time."""

import copy

NETWORKS = {"mgr2": "10.221.2.0/24", "prd2": "10.221.12.0/24"}
CLASSES = {"mgr2": "production_copy", "prd2": "production"}


def _ruleset(env: str) -> list[dict]:
    other = next(n for e, n in NETWORKS.items() if e != env)
    addr, length = other.split("/")
    match = lambda field: {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": field}},  # noqa: E731
                                     "right": "@other_environments"}}
    return [
        {"table": {"family": "inet", "name": "kt2ops"}},
        {"set": {"family": "inet", "table": "kt2ops", "name": "other_environments", "type": "ipv4_addr",
                 "elem": [{"prefix": {"addr": addr, "len": int(length)}}]}},
        {"chain": {"family": "inet", "table": "kt2ops", "name": "input", "hook": "input", "policy": "drop"}},
        {"chain": {"family": "inet", "table": "kt2ops", "name": "output", "hook": "output", "policy": "accept"}},
        {"rule": {"family": "inet", "table": "kt2ops", "chain": "input", "handle": 4,
                  "expr": [match("saddr"), {"counter": {}}, {"drop": None}]}},
        {"rule": {"family": "inet", "table": "kt2ops", "chain": "output", "handle": 9,
                  "expr": [match("daddr"), {"counter": {}}, {"reject": None}]}},
    ]


def _cert(env: str, role: str) -> dict:
    names = [f"{env}.koppeltaal.test"] if role == "server" else []
    subject = f"CN={env}.koppeltaal.test" if role == "server" else f"CN=kt2ops {env} CA"
    return {"file": f".pki/{env}/{role}.crt", "role": role, "subject": subject, "issuer": f"CN=kt2ops {env} CA",
            "dns_names": names, "sha256": f"{env}-{role}-cert", "public_key_sha256": f"{env}-{role}-key",
            "not_after": "2027-11-23T00:00:00+00:00"}


def _host(env: str) -> dict:
    return {
        "address": NETWORKS[env].replace("0/24", "10"),
        "sockets": [{"address": "0.0.0.0", "port": p, "process": "nginx" if p != 22 else "sshd"} for p in (22, 80, 443)]
        + [{"address": "127.0.0.1", "port": 5432, "process": "postgres"}],
        "nftables": _ruleset(env),
        "sshd": {"passwordauthentication": "no", "permitrootlogin": "without-password"},
        "sftp": {"forcecommand": "internal-sftp -d /incoming", "chrootdirectory": "/srv/kt2ops/transfer",
                 "passwordauthentication": "no", "allowtcpforwarding": "no"},
        "updates": {"lists_fetched": 1_790_000_000.0, "pending_security": []},
        "transfer_files": [], "risky_packages": [], "limit_exemptions": [],
        "transfer_packages": [{"path": "/srv/kt2ops/transfer/incoming/p.tar.age", "sha256": "abc",
                               "manifest": {"encrypted": {"sha256": "abc"}},
                               "verification": {"ok": True, "sha256": "abc"}}] if env == "mgr2" else [],
        "token_service": {
            "jwks_keys": [{"kid": f"{env}-k1", "kty": "RSA", "alg": "RS512", "members": ["alg", "e", "kid", "kty", "n",
                                                                                       "use"]}],
            "probe": {"alg": "RS512", "aud": "fhir-server", "kid_published": True, "verified": True, "lifetime": 300},
            "applications": [{"domain": "ggz-noorderlicht", "client_id": "ecd", "status": "approved",
                              "public_key_sha256": f"{env}-application-key"}]},
        "tls": {"port": 443, "errors": [], "protocols": {"TLSv1.2": ["ECDHE-ECDSA-AES256-GCM-SHA384"],
                                                           "TLSv1.3": ["TLS_AES_256_GCM_SHA384"]},
                "chain": [_cert(env, "server"), _cert(env, "ca")]},
        "http": {p: {"status": 301, "location": f"https://{env}.koppeltaal.test{p}", "body_bytes": 0}
                 for p in ("/", "/api/")},
    }


def _env(env: str) -> dict:
    return {"id": env, "kind": "kt2", "appendix_a": "C" if env == "mgr2" else "D", "data_class": CLASSES[env],
            "temporary": env == "mgr2", "service_hostname": f"{env}.koppeltaal.test", "network": NETWORKS[env]}


_EVIDENCE = {
    "schema": "kt2ops-evidence/1", "collected_at": "2026-09-21T10:00:00+00:00", "collected_epoch": 1_790_100_000,
    "date": "2026-09-21", "inventory": "inventories/lab",
    "environments": {e: {**_env(e), "domains_configured": {"ggz-noorderlicht": "GGZ Noorderlicht"},
                         "domains_held": {f"{e}.lab": {"ggz-noorderlicht": {"traffic": "open"}}},
                         "hosts": {f"{e}.lab": _host(e)}} for e in NETWORKS},
    "all_environments": [_env(e) for e in NETWORKS],
    "pki": {e: [_cert(e, "ca"), _cert(e, "server")] for e in NETWORKS},
    "records": {
        "suppliers": {"Dossierbouw BV": {"name": "Dossierbouw BV",
                                         "incident_procedure": {"document": "P07", "expires": "2027-01-01"}}},
        "people": [{"name": "R. Bakker", "environments": ["mgr2", "prd2"],
                    "nda": {"expires": "2027-01-01"}, "vog": {"expires": "2027-06-01"}}],
    },
    "suppliers_in_use": ["Dossierbouw BV"],
    "secrets_at_rest": {"plain": []},
}


def evidence() -> dict:
    return copy.deepcopy(_EVIDENCE)


def host(doc: dict, env: str) -> dict:
    return doc["environments"][env]["hosts"][f"{env}.lab"]
