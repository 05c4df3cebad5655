"""Which domains and applications the roles deploy: the domain admin application on KT 2.0, and a
domain removed from KT 1.3 by runbook S.5 that is neither created nor deleted there again."""

from ansible.plugins.loader import init_plugin_loader
from kt2ref.kt13.credentials import matches

from plugins.filter.domains import contract_domain, domain_applications, domains_on
from tests.conftest import ROOT

init_plugin_loader([str(ROOT / "collections")])
from ansible_collections.kt2ops.platform.plugins.action.kt13_credentials import verifier  # noqa: E402


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


def test_kt2_registers_the_domain_admin_with_all_rights_on_every_type_and_kt13_does_not():
    keys = {"a/ecd": "PEM-ecd", "a/kt2ops-admin": "PEM-admin"}
    kt2 = contract_domain(doc("a"), keys)
    assert kt2["applications"]["kt2ops-admin"] == {"name": "kt2ops domain admin", "role": "kt2ops-admin",
                                                   "kind": "admin", "supplier": "KT2-Support",
                                                   "status": "approved", "admin": True, "public_key": "PEM-admin"}
    assert kt2["applications"]["ecd"]["admin"] is False
    rights = kt2["roles"]["kt2ops-admin"]["permissions"]
    assert {p["resource"] for p in rights} >= {"Patient", "Task", "Organization", "Device", "AuditEvent"}
    assert all(p["operations"] == ["create", "read", "update", "delete"] and p["scope"] == "all" for p in rights)
    assert list(contract_domain(doc("a"))["applications"]) == ["ecd"]
    assert [a["id"] for a in domain_applications([doc("a")])] == ["ecd"]
    assert [a["id"] for a in domain_applications([doc("a")], admin=True)] == ["ecd", "kt2ops-admin"]


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
    keys = {"a/ecd": "PEM-ecd", "a/kt2ops-admin": "PEM-admin"}
    on_acc22 = contract_domain(document, keys, environment="acc22")["applications"]["ecd"]
    assert (on_acc22["status"], on_acc22["jwks_url"]) == ("pending", "https://ecd.example/jwks.json")
    assert "public_key" not in on_acc22
    on_prd2 = contract_domain(document, keys, environment="prd2")["applications"]["ecd"]
    assert on_prd2["public_key"] == "PEM-ecd" and "jwks_url" not in on_prd2
