# Which domains and applications belong on an environment, from the domain files (lookup 'domains').
# Each filter's documentation is the YAML file of its name beside this one.
from __future__ import annotations


def domains_on(domains, environment, kind="kt2", state="present"):
    if kind == "kt13":  # a domain that runbook S.5 removed from KT 1.3 is neither created there nor deleted
        return [d for d in domains if d["domain"]["state"] == state and d["kt13"].get("state") != "absent"]
    return [d for d in domains if d["domain"]["state"] == state and environment in d["domain"]["environments"]]


# Every KT 2.0 domain has its domain admin (KT's Admin role, all rights on every type): the operator's
# application for the runbook's reads and removals (the Q gate, the capacity check, rollback R) and the one
# application served while the domain is closed. It publishes nothing: P.8 publishes each application's data
# with that application's own credentials. Its key is issued by the environment's CA and stays on the
# control machine.
KT2_TYPES = ("Patient", "Practitioner", "RelatedPerson", "Organization", "CareTeam", "Task", "ActivityDefinition",
             "Device", "Endpoint", "Subscription", "AuditEvent")
ADMIN_APP = {"id": "kt2ops-admin", "name": "kt2ops domain admin", "role": "kt2ops-admin", "kind": "admin",
             "supplier": "KT2-Support", "trigger_functions": []}
ADMIN_ROLE = {"id": "kt2ops-admin", "permissions": [
    {"resource": t, "operations": ["create", "read", "update", "delete"], "scope": "all"} for t in KT2_TYPES]}


def domain_applications(domains, admin=False):
    """One flat entry per application of the given domains, as the services need them; with admin=true
    also the domain admin of each domain."""
    return [{"domain": d["domain"]["id"], "kt13_domain": d["kt13"]["domain"], "id": app["id"],
             "name": app["name"], "role": app["role"], "kind": app["kind"], "supplier": app["supplier"],
             "status": app.get("status", "approved"), "jwks_urls": app.get("jwks_urls", {}),
             "triggers": [t["id"] for t in app.get("trigger_functions", [])]}
            for d in domains for app in [*d["applications"], *([ADMIN_APP] if admin else [])]]


def contract_domain(doc, public_keys=None, kt13_verifiers=None, environment=None):
    """The body of the contract's PUT /domains/<id>: roles by id, applications by id, each with what
    authenticates it there: on KT 2.0 (the authentication service's domain admin, which also gets the
    domain admin application) its status and the JWKS URL the domain file names for this environment or
    else the public key of the environment's PKI; on KT 1.3 the verifier of its KT 1.3 password."""
    applications = {}
    kt2 = public_keys is not None
    for app in domain_applications([doc], admin=kt2):
        entry = {k: app[k] for k in ("name", "role", "kind", "supplier")}
        name = f"{app['domain']}/{app['id']}"
        if kt2:
            entry["status"] = app["status"]
            entry["admin"] = app["kind"] == "admin"
            if environment in app["jwks_urls"]:
                entry["jwks_url"] = app["jwks_urls"][environment]
            else:
                entry["public_key"] = public_keys[name]
        elif kt13_verifiers is not None:
            entry["credential"] = kt13_verifiers[name]
        applications[app["id"]] = entry
    return {"name": doc["domain"]["name"], "domain": doc["domain"]["id"],
            "roles": {role["id"]: {"permissions": role["permissions"]}
                      for role in [*doc["roles"], *([ADMIN_ROLE] if kt2 else [])]},
            "applications": applications}


class FilterModule:
    def filters(self):
        return {"domains_on": domains_on, "domain_applications": domain_applications,
                "contract_domain": contract_domain}
