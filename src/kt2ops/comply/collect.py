"""Evidence, the first half of `kt2 comply`: everything the appendix B controls judge, gathered without
changing anything, into one JSON document that can be judged again later without the hosts.

Hosts are read with pyinfra facts over SSH (read-only by construction: no operation is ever built),
TLS and plain HTTP are observed from the control machine as a client sees them, and the records
(suppliers, people, domain files, the control machine's PKI) come from the inventory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyinfra.api import Config, State
from pyinfra.api import Inventory as PyinfraInventory
from pyinfra.api.connect import connect_all
from pyinfra.api.facts import get_facts

from kt2ops.comply.certificates import pki_certificates
from kt2ops.comply.facts import HostEvidence
from kt2ops.comply.tls import probe_http, scan_tls
from kt2ops.errors import Kt2OpsError
from kt2ops.inventory.check import check_inventory
from kt2ops.inventory.model import Inventory
from kt2ops.layout import layout
from kt2ops.remote import ssh_key_file
from kt2ops.runbook.backup import verify_files
from kt2ops.runbook.catalogue import catalogue
from kt2ops.runbook.state import audit_log, domain_state, runbook_dir
from kt2ops.secrets import paramiko_key, plain_secrets

EVIDENCE_SCHEMA = "kt2ops-evidence/1"
PKI_DIR = layout("kt2_pki_dir")
ENV_FIELDS = ("id", "kind", "appendix_a", "data_class", "temporary", "service_hostname", "network")


class EvidenceError(Kt2OpsError, RuntimeError):
    """The inventory cannot be used to collect evidence; the message names what is wrong."""


def collect(inventory_path: Path, limit: list[str] | None = None,
            progress: Callable[[str], None] = print) -> dict[str, Any]:
    """The evidence document for the inventory's environments (or those in `limit`)."""
    report = check_inventory(inventory_path)
    if report.errors:
        raise EvidenceError(f"{inventory_path}: the inventory has errors; run `kt2 inventory check`:\n"
                            + "\n".join(str(e) for e in report.errors))
    inventory = report.inventory
    env_ids = inventory.environment_ids
    unknown = sorted(set(limit or []) - set(env_ids))
    if unknown:
        raise EvidenceError(f"-l: no such environment {', '.join(unknown)} (known: {', '.join(env_ids)})")
    selected = [e for e in env_ids if not limit or e in limit]
    hosts = {env: inventory.group_hosts(env) for env in selected}
    now = datetime.now(UTC)
    progress(f"collecting evidence from {sum(len(h) for h in hosts.values())} host(s)")
    env_facts = {env: _env_facts(inventory, env) for env in selected}
    # What a client sees (TLS scan, plain HTTP) needs nothing from the hosts' own facts: it runs beside them,
    # in a thread, while pyinfra reads the hosts (each waits mostly on the network).
    with ThreadPoolExecutor(1) as pool:
        seen = pool.submit(_client_view, {h: (env_facts[env]["service_hostname"], _address(inventory, h))
                                          for env in selected for h in hosts[env]})
        host_facts = _host_facts(inventory, [h for env in selected for h in hosts[env]])
        tls, http = seen.result()
    envs: dict[str, Any] = {}
    for env, facts in env_facts.items():
        # What each host holds beside what is configured, not inside the host: a host object carrying
        # a thousand domains makes every policy that reads its host slow (rego-cpp copies it at each binding).
        envs[env] = {**facts, "domains_configured": _domains_on(report.documents, facts),
                     "domains_held": {h: host_facts[h].pop("hosted_domains", None) for h in hosts[env]},
                     "hosts": {h: {"address": _address(inventory, h), **host_facts[h], "tls": tls.get(h),
                                   "http": http[h]} for h in hosts[env]}}
    records = inventory.hostvars[next(iter(inventory.hostvars))] if inventory.hostvars else {}
    return {
        "schema": EVIDENCE_SCHEMA,
        "collected_at": now.isoformat(timespec="seconds"),
        "collected_epoch": int(now.timestamp()),
        "date": now.date().isoformat(),
        "inventory": str(inventory_path),
        "environments": envs,
        "all_environments": [_env_facts(inventory, e) for e in env_ids],
        "pki": pki_certificates(inventory_path / PKI_DIR, env_ids),
        # Suppliers by name: policies look them up (rego-cpp does not index a list for them).
        "records": {"suppliers": {s["name"]: s for s in records.get("kt2_suppliers", [])},
                    "people": records.get("kt2_people", [])},
        "suppliers_in_use": sorted({app["supplier"] for doc in report.documents for app in doc["applications"]}),
        "runbook": runbook_evidence(inventory_path, [d["domain"]["id"] for d in report.documents]),
        "secrets_at_rest": secrets_evidence(inventory_path),
    }


def secrets_evidence(inventory_path: Path) -> dict[str, Any]:
    """Every file under the inventory (its PKI, runbook keys, filed bundles and reports, the lab's key) that
    holds secret material in plain text; a file of .pki/<env> is that environment's."""
    plain = []
    for path in plain_secrets(inventory_path):
        relative = path.relative_to(inventory_path)
        parts = relative.parts
        plain.append({"path": str(relative), "environment": parts[1] if parts[0] == PKI_DIR and len(parts) > 2
                      else "*"})
    return {"plain": plain}


def runbook_evidence(inventory_path: Path, domains: list[str]) -> dict[str, Any]:
    """Per domain: the disruptive migration steps done, the environment migrated to, and its backups with
    their restore test and whether their files still match the manifest (B.7)."""
    log, found = audit_log(inventory_path), {}
    migration_steps = [s for s in catalogue().steps if s.startswith("P.")]
    for domain in domains:
        state = domain_state(log, domain)
        started = [s for s in migration_steps if state.done(s)]
        target = next((r.environment for r in reversed(state.runs) if r.environment), None)
        backups = {}
        for manifest_file in sorted((runbook_dir(inventory_path) / "backups" / domain).glob("*/manifest.json")):
            manifest = json.loads(manifest_file.read_text())
            backups[manifest["backup"]] = {"step": manifest["step"], "created": manifest["created"],
                                           "restore_test": manifest.get("restore_test"),
                                           "files_intact": not verify_files(manifest_file.parent)}
        if started or backups:
            found[domain] = {"migration_started": started, "target": target, "backups": backups,
                             "limit_exemption_open": state.exempt_from_limit()}
    return found


def _env_facts(inventory: Inventory, env: str) -> dict[str, Any]:
    facts = inventory.hostvars[inventory.group_hosts(env)[0]]["kt2_env"]
    return {k: facts.get(k) for k in ENV_FIELDS}


def _domains_on(documents: list[dict[str, Any]], env: dict[str, Any]) -> dict[str, str]:
    """The domains the domain files put on the environment: id -> name."""
    return {d["domain"]["id"]: d["domain"]["name"] for d in sorted(documents, key=lambda d: d["domain"]["id"])
            if d["domain"]["state"] == "present"
            and (env["kind"] == "kt13" or env["id"] in d["domain"]["environments"])}


def _address(inventory: Inventory, host: str) -> str:
    return str(inventory.hostvars[host].get("ansible_host", host))


def _client_view(hosts: dict[str, tuple[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per host (its service's host name, its address): the TLS it accepts and serves, what plain HTTP answers."""
    tls = scan_tls([(h, hostname, address, 443) for h, (hostname, address) in hosts.items()])
    return tls, {h: probe_http(hostname, address) for h, (hostname, address) in hosts.items()}


def _host_facts(inventory: Inventory, hosts: list[str]) -> dict[str, dict[str, Any]]:
    """Every host's facts; a host that cannot be reached gets {"error": why} instead."""
    entries, keys = [], {}  # keys: each key file opened once for all the hosts that share it
    for host in hosts:
        hv = inventory.hostvars[host]
        known_hosts = re.search(r"UserKnownHostsFile=(\S+)", hv.get("ansible_ssh_common_args", ""))
        data = {"ssh_hostname": _address(inventory, host), "ssh_user": hv.get("ansible_user", "root"),
                "ssh_port": int(hv.get("ansible_port", 22)), "ssh_strict_host_key_checking": "yes"}
        if key_file := ssh_key_file(hv):
            # Opened in memory (it is vault-encrypted); pyinfra would read the file itself.
            if key_file not in keys:
                keys[key_file] = paramiko_key(key_file)
            data["ssh_paramiko_connect_kwargs"] = {"pkey": keys[key_file]}
        if known_hosts:
            data["ssh_known_hosts_file"] = known_hosts[1]
        entries.append((host, data))
    state = State(PyinfraInventory((entries, {})), Config(CONNECT_TIMEOUT=10))
    connect_all(state)
    result: dict[str, dict[str, Any]] = {h: {} for h in hosts}
    connected = {h.name for h in state.activated_hosts}
    for host in hosts:
        if host not in connected:
            result[host] = {"error": f"cannot connect over SSH to {_address(inventory, host)}"}
    for host, facts in get_facts(state, HostEvidence).items():
        result[host.name].update(facts or {})
    return result


