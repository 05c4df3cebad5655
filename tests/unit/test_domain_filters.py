"""Which domains and applications the roles deploy: the migration's own application on KT 2.0, and a
domain removed from KT 1.3 by runbook S.5 that is neither created nor deleted there again."""

from kt2ref.kt13.credentials import matches

from plugins.filter.domains import contract_domain, domain_applications, domains_on
from plugins.modules.kt13_credentials import verifier


def doc(domain_id, state="present", kt13_state=None):
    kt13 = {"domain": domain_id.upper(), **({"state": kt13_state} if kt13_state else {})}
    return {"domain": {"id": domain_id, "name": domain_id, "state": state, "environments": ["prd2"]}, "kt13": kt13,
            "roles": [{"id": "ehr", "permissions": []}],
            "applications": [{"id": "ecd", "name": "ECD", "role": "ehr", "kind": "ehr", "supplier": "S"}]}


def test_kt13_leaves_a_domain_alone_after_s5():
    domains = [doc("a"), doc("b", kt13_state="absent"), doc("c", state="absent")]
    assert [d["domain"]["id"] for d in domains_on(domains, "kt13", "kt13")] == ["a"]
    assert [d["domain"]["id"] for d in domains_on(domains, "kt13", "kt13", "absent")] == ["c"]
    assert [d["domain"]["id"] for d in domains_on(domains, "prd2")] == ["a", "b"]


def test_kt2_registers_the_migration_application_with_its_own_role_and_kt13_does_not():
    keys = {"a/ecd": "PEM-ecd", "a/kt2ops-migration": "PEM-migration"}
    kt2 = contract_domain(doc("a"), keys)
    assert kt2["applications"]["kt2ops-migration"] == {"name": "kt2ops migration", "role": "kt2ops-migration",
                                                       "kind": "migration", "supplier": "KT2-Support",
                                                       "status": "approved", "migration": True,
                                                       "public_key": "PEM-migration"}
    assert kt2["applications"]["ecd"]["migration"] is False
    task = next(p for p in kt2["roles"]["kt2ops-migration"]["permissions"] if p["resource"] == "Task")
    assert task == {"resource": "Task", "operations": ["create", "read", "update", "delete"], "scope": "all"}
    assert list(contract_domain(doc("a"))["applications"]) == ["ecd"]
    assert [a["id"] for a in domain_applications([doc("a")])] == ["ecd"]
    assert [a["id"] for a in domain_applications([doc("a")], migration=True)] == ["ecd", "kt2ops-migration"]


def test_kt13_registers_the_verifier_the_server_checks_and_never_the_password():
    password = "a-random-token"
    registered = contract_domain(doc("a"), kt13_verifiers={"a/ecd": verifier("a", "ecd", password)})
    credential = registered["applications"]["ecd"]["credential"]
    assert password not in credential
    assert matches(credential, password) and not matches(credential, password + "x")
    assert verifier("a", "ecd", password) != verifier("b", "ecd", password)  # a salt per application


def test_kt2_registers_the_jwks_url_of_this_environment_and_the_status_the_file_gives():
    document = doc("a")
    document["applications"][0] |= {"status": "pending", "jwks_urls": {"acc22": "https://ecd.example/jwks.json"}}
    keys = {"a/ecd": "PEM-ecd", "a/kt2ops-migration": "PEM-migration"}
    on_acc22 = contract_domain(document, keys, environment="acc22")["applications"]["ecd"]
    assert (on_acc22["status"], on_acc22["jwks_url"]) == ("pending", "https://ecd.example/jwks.json")
    assert "public_key" not in on_acc22
    on_prd2 = contract_domain(document, keys, environment="prd2")["applications"]["ecd"]
    assert on_prd2["public_key"] == "PEM-ecd" and "jwks_url" not in on_prd2
