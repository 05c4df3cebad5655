"""`kt2 inventory check`: validate an inventory's environments and every domain file.

Every error names the file, the line, the field path and the reason. Nothing is changed.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from kt2ops.inventory.model import KT2_GROUP, KT13_GROUP, Inventory, InventoryError, load_inventory
from kt2ops.inventory.yamlsrc import YamlDoc, YamlError
from kt2ops.paths import SCHEMAS
from kt2ops.windows import CalendarError, MaintenanceCalendar

DOMAINS_DIR = "domains"
YAML_SUFFIXES = (".yml", ".yaml")
# Appendix A fixes what each environment may hold; an inventory may not loosen it.
APPENDIX_A_DATA_CLASS = {"A": "test", "B": "test", "C": "production_copy", "D": "production"}


@dataclass(frozen=True)
class Finding:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field or '(file)'}: {self.message}"


@dataclass
class Report:
    errors: list[Finding] = field(default_factory=list)
    files_checked: int = 0
    domains: list[str] = field(default_factory=list)
    # The valid domain files' contents (with the file in "_file"), for playbooks to act on.
    documents: list[dict[str, Any]] = field(default_factory=list)
    # The inventory as Ansible parsed it (None when it cannot): callers need not parse it again (0.4 s).
    inventory: Inventory | None = None

    def add(self, file: Path | str, line: int | None, path: Sequence[str | int], message: str) -> None:
        self.errors.append(Finding(str(file), line, format_path(path), message))

    def as_dict(self) -> dict[str, Any]:
        return {"ok": not self.errors, "files_checked": self.files_checked, "domains": self.domains,
                "errors": [vars(f) for f in self.errors]}


def format_path(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# -- JSON Schema --------------------------------------------------------------------------------------
_formats = FormatChecker(formats=())


@_formats.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if datetime.fromisoformat(value).tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2027-03-17T18:30:00+01:00")
    return True


@_formats.checks("date", raises=ValueError)
def _date(value: object) -> bool:
    return not isinstance(value, str) or bool(date.fromisoformat(value))


@_formats.checks("ipv4-network", raises=ValueError)
def _network(value: object) -> bool:
    return not isinstance(value, str) or bool(ipaddress.IPv4Network(value))


@_formats.checks("hostname")
def _hostname(value: object) -> bool:
    label = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
    return not isinstance(value, str) or re.fullmatch(rf"{label}(\.{label})+", value) is not None


@_formats.checks("email")
def _email(value: object) -> bool:
    return not isinstance(value, str) or re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", value) is not None


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return Draft202012Validator(schema, format_checker=_formats)


def _schema_errors(report: Report, doc: YamlDoc, file: Path, data: Any, schema: str,
                   prefix: Sequence[str | int] = ()) -> bool:
    errors = sorted(validator(schema).iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        path = [*prefix, *error.absolute_path]
        message = error.message
        if error.cause is not None and error.validator == "format":
            message = f"{error.instance!r} is not a valid {error.validator_value}: {error.cause}"
        report.add(file, doc.line_of(path), path, message)
    return not errors


def _load(report: Report, file: Path) -> YamlDoc | None:
    report.files_checked += 1
    try:
        return YamlDoc(file)
    except YamlError as exc:
        report.add(file, exc.line, [], str(exc))
    except (OSError, UnicodeDecodeError) as exc:
        report.add(file, None, [], f"cannot read: {exc}")
    return None


# -- environments -------------------------------------------------------------------------------------
def _group_vars_files(inventory_dir: Path, group: str) -> list[Path]:
    base = inventory_dir / "group_vars"
    files = [base / f"{group}{suffix}" for suffix in YAML_SUFFIXES]
    if (base / group).is_dir():
        files += sorted(p for p in (base / group).iterdir() if p.suffix in YAML_SUFFIXES)
    return [f for f in files if f.is_file()]


def _check_environments(report: Report, inventory: Inventory) -> list[str]:
    """Validate every environment's kt2_env; return the ids of the valid KT 2.0 environments."""
    hosts_file = inventory.path
    if not inventory.kt2_environment_ids:
        report.add(hosts_file, None, ["all", "children", KT2_GROUP],
                   f"no group '{KT2_GROUP}' with the KT 2.0 environments as children")
    if KT13_GROUP not in inventory.groups:
        report.add(hosts_file, None, ["all", "children", KT13_GROUP], "no group for the KT 1.3 server")
    valid: list[str] = []
    seen_letters: dict[str, str] = {}
    networks: dict[str, tuple[ipaddress.IPv4Network, Path]] = {}
    for env_id in inventory.environment_ids:
        expected_kind = "kt13" if env_id == KT13_GROUP else "kt2"
        if not inventory.group_hosts(env_id):
            report.add(hosts_file, None, [env_id, "hosts"], "environment group has no hosts")
        defining = [(f, d) for f in _group_vars_files(inventory.path, env_id)
                    if (d := _load(report, f)) is not None and isinstance(d.data, dict) and "kt2_env" in d.data]
        if not defining:
            where = inventory.path / "group_vars" / f"{env_id}.yml"
            report.add(where, None, ["kt2_env"], f"environment '{env_id}' has no kt2_env facts in group_vars")
            continue
        file, doc = defining[-1]
        env = doc.data["kt2_env"]
        if not _schema_errors(report, doc, file, env, "environment", ["kt2_env"]):
            continue
        ok = True
        for key, want in (("id", env_id), ("kind", expected_kind)):
            if env[key] != want:
                report.add(file, doc.line_of(["kt2_env", key]), ["kt2_env", key],
                           f"is '{env[key]}' but must be '{want}' for group '{env_id}'")
                ok = False
        letter = env.get("appendix_a")
        if letter:
            if env["data_class"] != APPENDIX_A_DATA_CLASS[letter]:
                report.add(file, doc.line_of(["kt2_env", "data_class"]), ["kt2_env", "data_class"],
                           f"environment {letter} of appendix A holds '{APPENDIX_A_DATA_CLASS[letter]}' data, "
                           f"not '{env['data_class']}'")
                ok = False
            if letter in seen_letters:
                report.add(file, doc.line_of(["kt2_env", "appendix_a"]), ["kt2_env", "appendix_a"],
                           f"letter {letter} is already environment '{seen_letters[letter]}'")
                ok = False
            seen_letters[letter] = env_id
        network = ipaddress.IPv4Network(env["network"])
        for other, (other_net, other_file) in networks.items():
            if network.overlaps(other_net):
                report.add(file, doc.line_of(["kt2_env", "network"]), ["kt2_env", "network"],
                           f"{network} overlaps {other_net} of environment '{other}' ({other_file}); "
                           "every environment needs its own network")
                ok = False
        networks[env_id] = (network, file)
        if ok and expected_kind == "kt2":
            valid.append(env_id)
    return valid


# -- domains ------------------------------------------------------------------------------------------
def _check_domain_references(report: Report, file: Path, doc: YamlDoc, environments: list[str]) -> None:
    data = doc.data

    def add(path: list[str | int], message: str) -> None:
        report.add(file, doc.line_of(path), path, message)

    domain_id = data["domain"]["id"]
    if file.stem != domain_id:
        add(["domain", "id"], f"'{domain_id}' differs from the file name '{file.stem}'")
    for i, env in enumerate(data["domain"]["environments"]):
        if env not in environments:
            add(["domain", "environments", i],
                f"unknown environment '{env}'; the inventory has {', '.join(environments) or 'none'}")
    role_ids = [r["id"] for r in data["roles"]]
    for i, role in enumerate(role_ids):
        if role in role_ids[:i]:
            add(["roles", i, "id"], f"role '{role}' is defined twice")
    app_ids = [a["id"] for a in data["applications"]]
    for i, app in enumerate(data["applications"]):
        if app["id"] in app_ids[:i]:
            add(["applications", i, "id"], f"application '{app['id']}' is listed twice")
        if app["role"] not in role_ids:
            add(["applications", i, "role"],
                f"unknown role '{app['role']}'; roles[] defines {', '.join(role_ids)}")
        triggers = [t["id"] for t in app.get("trigger_functions", [])]
        for j, trigger in enumerate(triggers):
            if trigger in triggers[:j]:
                add(["applications", i, "trigger_functions", j, "id"], f"trigger '{trigger}' is listed twice")
    if not any(c["party"] == "care_provider" for c in data["contacts"]):
        add(["contacts"], "no contact of party 'care_provider' (who gives the GO at O.10)")
    planned = data["migration"].get("planned", {})
    if "announced" in planned and "start" in planned:
        start = datetime.fromisoformat(planned["start"]).date()
        if date.fromisoformat(planned["announced"]) > start:
            add(["migration", "planned", "announced"],
                f"announced on {planned['announced']}, after the planned start {start}")


def _check_domains(report: Report, inventory_dir: Path, environments: list[str]) -> None:
    domains_dir = inventory_dir / DOMAINS_DIR
    files = sorted(p for p in domains_dir.glob("*") if p.suffix in YAML_SUFFIXES) if domains_dir.is_dir() else []
    seen: dict[str, dict[str, Path]] = {"domain.id": {}, "kt13.domain": {}}
    for file in files:
        doc = _load(report, file)
        if doc is None:
            continue
        if not _schema_errors(report, doc, file, doc.data, "domain"):
            continue
        _check_domain_references(report, file, doc, environments)
        for key, value in (("domain.id", doc.data["domain"]["id"]), ("kt13.domain", doc.data["kt13"]["domain"])):
            path = key.split(".")
            if value in seen[key]:
                report.add(file, doc.line_of(path), path, f"'{value}' is also used by {seen[key][value]}")
            seen[key][value] = file
        report.domains.append(doc.data["domain"]["id"])
        report.documents.append({**doc.data, "_file": str(file)})


def check_inventory(inventory_dir: Path) -> Report:
    report = Report()
    try:
        inventory = report.inventory = load_inventory(inventory_dir)
    except InventoryError as exc:
        report.add(inventory_dir, None, [], str(exc))
        return report
    environments = _check_environments(report, inventory)
    _check_maintenance(report, inventory)
    _check_records(report, inventory)
    _check_domains(report, inventory_dir, environments)
    _kt13_links(report, inventory)
    return report


def _kt13_links(report: Report, inventory: Inventory) -> None:
    """Each domain's KT 1.3 FHIR base (where its resource links point): the domain file's kt13.fhir_base, or
    the kt13 group's kt13_fhir_base template with {domain}."""
    host = next(iter(inventory.group_hosts(KT13_GROUP)), None) if KT13_GROUP in inventory.groups else None
    template = inventory.hostvars.get(host, {}).get("kt13_fhir_base") if host else None
    for doc in report.documents:
        if "fhir_base" in doc["kt13"]:
            continue
        if not isinstance(template, str) or "{domain}" not in template:
            report.add(doc["_file"], None, ["kt13", "fhir_base"], "unknown: give it here, or kt13_fhir_base "
                       "(with {domain}) in the kt13 group's variables")
            continue
        doc["kt13"] = {**doc["kt13"], "fhir_base": template.format(domain=doc["kt13"]["domain"]).rstrip("/")}


# -- maintenance windows and appendix B records ------------------------------------------------------
def _check_maintenance(report: Report, inventory: Inventory) -> None:
    """Every environment's kt2_maintenance calendar: its schema, and production windows from 18:00."""
    for env_id in inventory.environment_ids:
        for file in _group_vars_files(inventory.path, env_id):
            try:
                doc = YamlDoc(file)
            except (YamlError, OSError, UnicodeDecodeError):
                continue  # reported with the environment's facts already
            if not isinstance(doc.data, dict) or "kt2_maintenance" not in doc.data:
                continue
            spec = doc.data["kt2_maintenance"]
            if not _schema_errors(report, doc, file, spec, "maintenance", ["kt2_maintenance"]):
                continue
            facts = inventory.hostvars.get(next(iter(inventory.group_hosts(env_id)), ""), {}).get("kt2_env") or {}
            try:
                MaintenanceCalendar(env_id, spec, facts.get("data_class") == "production")
            except CalendarError as exc:
                report.add(file, doc.line_of(["kt2_maintenance", "windows"]), ["kt2_maintenance", "windows"],
                           str(exc).split(": ", 1)[-1])


def _check_records(report: Report, inventory: Inventory) -> None:
    """B.4/B.9 records (kt2_suppliers, kt2_people): their schema, and environments that exist."""
    known = set(inventory.environment_ids)
    for file in _group_vars_files(inventory.path, "all"):
        doc = _load(report, file)
        if doc is None or not isinstance(doc.data, dict):
            continue
        records = {k: doc.data[k] for k in ("kt2_suppliers", "kt2_people") if k in doc.data}
        if not records or not _schema_errors(report, doc, file, records, "records"):
            continue
        for number, person in enumerate(records.get("kt2_people", [])):
            for index, env in enumerate(person["environments"]):
                if env not in known:
                    path: list[str | int] = ["kt2_people", number, "environments", index]
                    report.add(file, doc.line_of(path), path, f"no environment {env!r} in the inventory")
