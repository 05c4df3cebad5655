"""The KT2 profiles' constraints (implementation guide 0.16.3, see ../shared/KT2-PROFILES.md), read from the
rule file the lab's FHIR server enforces (`services/kt2fhir/src/main/resources/kt2-profiles.json`, the one
place they are written down), checked here as `ProfileRules.java` checks them there, with the same words.
Validation checks every mapped resource before anything is sent, so a resource KT 2.0 would refuse is a
finding naming the element, not a failed Bundle in the evening window."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from kt2ops.paths import PROJECT_ROOT

RULES = PROJECT_ROOT / "services" / "kt2fhir" / "src" / "main" / "resources" / "kt2-profiles.json"
RESOURCE_ORIGIN = "http://koppeltaal.nl/fhir/StructureDefinition/resource-origin"
ENDPOINT_EXTENSION = "http://koppeltaal.nl/fhir/StructureDefinition/KT2EndpointExtension"
INSTANTIATES = "http://vzvz.nl/fhir/StructureDefinition/instantiates"
COD472 = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472"
COD472_DISPLAY = {"23": "Contactpersoon", "24": "Wettelijke vertegenwoordiger"}  # kt2-role-display-validation
EXPANSION_TYPE = "http://vzvz.nl/fhir/CodeSystem/koppeltaal-usage-context-type"
EXPANSION_VALUES = "http://vzvz.nl/fhir/CodeSystem/koppeltaal-expansion"
TASK_CODES = "http://vzvz.nl/fhir/CodeSystem/koppeltaal-task-code"
PROFILE_BASE = "http://koppeltaal.nl/fhir/StructureDefinition/KT2"  # + the type: a KT2 profile's canonical URL
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
ORIGIN_RULE = {"max": 1, "value": "valueReference", "targets": ["Device"]}  # every type


@cache
def rules() -> dict[str, Any]:
    return json.loads(RULES.read_text())


def _compact(value: Any) -> str:
    """A JSON value as the server writes it into its messages (Jackson's compact form)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def walk(node: Any, path: str) -> list[Any]:
    """The values at a dotted path; a list on the way is entered entry by entry."""
    current = [node]
    for segment in path.split("."):
        following: list[Any] = []
        for item in current:
            child = item.get(segment) if isinstance(item, dict) else None
            if isinstance(child, list):
                following += child
            elif child is not None:
                following.append(child)
        current = following
    return current


def _parents(resource: dict[str, Any], path: str) -> tuple[list[Any], str, str]:
    parent, _, element = path.rpartition(".")
    return (walk(resource, parent) if parent else [resource]), element, (parent + "." if parent else "")


def _empty(value: Any) -> bool:
    return value is None or value in ([], {}) or (isinstance(value, str) and not value.strip())


def _matches(field: str, element: str) -> bool:
    """`deceased[x]` matches deceasedBoolean, deceasedDateTime, ...; any other element only itself."""
    if not element.endswith("[x]"):
        return field == element
    stem = element[:-3]
    return field.startswith(stem) and field[len(stem):len(stem) + 1].isupper()


def _present(resource: dict[str, Any], path: str) -> list[str]:
    """The names of the elements present at a path."""
    parents, element, prefix = _parents(resource, path)
    names: list[str] = []
    for parent in parents:
        for field in parent if isinstance(parent, dict) else ():
            if _matches(field, element) and prefix + field not in names:
                names.append(prefix + field)
    return names


@cache
def _prohibited(kind: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """A type's prohibited elements: those of the resource itself as a set (one look at its fields finds
    them), the choice types and nested paths apart."""
    paths = rules()[kind].get("prohibited", [])
    plain = frozenset(p for p in paths if "." not in p and not p.endswith("[x]"))
    return plain, tuple(p for p in paths if p not in plain)


def _target_problem(where: str, reference: Any, allowed: list[str]) -> str | None:
    ref = str(reference.get("reference", "")) if isinstance(reference, dict) else ""
    if not ref or ref.startswith(("urn:", "#")):
        return None
    query = ref.find("?")  # a conditional reference in a transaction: Type?search
    parts = ref.split("/")
    kind = ref[:query] if query >= 0 else parts[-2] if len(parts) >= 2 else ""
    return None if kind in allowed else f"{where}: may refer to {_compact(allowed)} only, not {ref}"


def _extension(kind: str, resource: dict[str, Any], url: str, rule: dict[str, Any]) -> Iterator[str]:
    present = [e for e in resource.get("extension", []) if e.get("url") == url]
    where = f"{kind}.extension({url})"
    if len(present) < rule.get("min", 0):
        yield f"{where}: at least {rule['min']} required"
    if "max" in rule and len(present) > rule["max"]:
        yield f"{where}: at most {rule['max']}"
    for extension in present:
        if not rule.get("value"):
            continue
        value = extension.get(rule["value"])
        if value is None:
            yield f"{where}: needs a {rule['value']}"
        elif rule["value"] == "valueId" and not FHIR_ID.match(str(value)):
            yield f"{where}: '{value}' is not a FHIR id (letters, digits, - and ., 1 to 64)"
        elif rule.get("targets") and (problem := _target_problem(where, value, rule["targets"])):
            yield problem


def _name_use(kind: str, resource: dict[str, Any]) -> Iterator[str]:
    for i, name in enumerate(resource.get("name", [])):
        if not name.get("use"):
            yield f"{kind}.name[{i}].use: required on every name (kt2pnu)"


def _official_name(kind: str, resource: dict[str, Any]) -> Iterator[str]:
    for i, name in enumerate(resource.get("name", [])):
        if name.get("use") == "official" and not (name.get("family") and name.get("given")):
            yield f"{kind}.name[{i}]: the official name needs family and given"


def _email(kind: str, resource: dict[str, Any]) -> Iterator[str]:
    if not any(t.get("system") == "email" for t in resource.get("telecom", [])):
        yield f"{kind}.telecom: at least one e-mail address is required"


def _role_display(kind: str, resource: dict[str, Any]) -> Iterator[str]:
    for i, concept in enumerate(resource.get("relationship", [])):
        for j, coding in enumerate(concept.get("coding", [])):
            wanted = COD472_DISPLAY.get(coding.get("code", "")) if coding.get("system") == COD472 else None
            if wanted and coding.get("display") != wanted:
                yield (f"{kind}.relationship[{i}].coding[{j}].display: must be '{wanted}' "
                       "(kt2-role-display-validation)")


def _koppeltaal_expansion(kind: str, resource: dict[str, Any]) -> Iterator[str]:
    for i, context in enumerate(resource.get("useContext", [])):
        if context.get("code", {}).get("system") == EXPANSION_TYPE:
            codings = context.get("valueCodeableConcept", {}).get("coding", [])
            if not codings or not all(c.get("system") == EXPANSION_VALUES and c.get("code") == "026-RolvdNaaste"
                                      for c in codings):
                yield f"{kind}.useContext[{i}].valueCodeableConcept: must be {EXPANSION_VALUES}|026-RolvdNaaste"


def _view_part_of(kind: str, resource: dict[str, Any]) -> Iterator[str]:
    view = any(c.get("system") == TASK_CODES and c.get("code") == "view"
               for c in resource.get("code", {}).get("coding", []))
    if view and not resource.get("partOf"):
        yield f"{kind}.partOf: required for a Task with code view (the task it shows)"


def _https_endpoint(kind: str, resource: dict[str, Any]) -> Iterator[str]:
    if not str(resource.get("channel", {}).get("endpoint", "")).startswith("https://"):
        yield f"{kind}.channel.endpoint: must be an https URL (rest-hook over TLS only)"


CHECKS: dict[str, Callable[[str, dict[str, Any]], Iterator[str]]] = {
    "name-use": _name_use, "official-name": _official_name, "email": _email, "role-display": _role_display,
    "koppeltaal-expansion": _koppeltaal_expansion, "view-part-of": _view_part_of,
    "https-endpoint": _https_endpoint}


def profile_of(kind: str) -> str:
    """The canonical URL of a type's KT2 profile, which its resources declare in meta.profile."""
    return PROFILE_BASE + kind


def declared(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource with its KT2 profile in meta.profile (KT 2.0 refuses a KT2 type that does not declare it)."""
    profiles = resource.setdefault("meta", {}).setdefault("profile", [])
    if (profile := profile_of(resource["resourceType"])) not in profiles:
        profiles.append(profile)
    return resource


def violations(resource: dict[str, Any]) -> list[str]:
    """'<Type>.<element>: <rule>' for each KT2 profile constraint the resource breaks; empty when it conforms."""
    kind = resource["resourceType"]
    found = list(_extension(kind, resource, RESOURCE_ORIGIN, ORIGIN_RULE))
    rule = rules().get(kind)
    if rule is None:
        return found
    if profile_of(kind) not in resource.get("meta", {}).get("profile", []):
        found.append(f"{kind}.meta.profile: must name {profile_of(kind)} (the profile KT 2.0 validates against)")
    for path in rule.get("required", []):
        parents, element, _ = _parents(resource, path)
        found += [f"{kind}.{path}: required by the KT2 profile" for parent in parents if _empty(parent.get(element))]
    plain, other = _prohibited(kind)
    found += [f"{kind}.{element}: prohibited by the KT2 profile (0..0)"
              for element in [f for f in resource if f in plain] + [e for p in other for e in _present(resource, p)]]
    found += [f"{kind}.{path}: must be exactly {_compact(wanted)}, not {_compact(value)}"
              for path, wanted in rule.get("fixed", {}).items() for value in walk(resource, path) if value != wanted]
    found += [f"{kind}.{path}: at most {most}" for path, most in rule.get("max", {}).items()
              if isinstance(resource.get(path), list) and len(resource[path]) > most]
    found += [f"{kind}.{path}: {coding.get('system', '')}|{coding.get('code', '')} is not in the required value set"
              for path, allowed in rule.get("codes", {}).items() for coding in walk(resource, path)
              if coding.get("code", "") not in allowed.get(coding.get("system", ""), [])]
    found += [problem for path, allowed in rule.get("references", {}).items() for reference in walk(resource, path)
              if (problem := _target_problem(f"{kind}.{path}", reference, allowed))]
    for url, extension_rule in rule.get("extensions", {}).items():
        found += _extension(kind, resource, url, extension_rule)
    for check in rule.get("checks", []):
        found += CHECKS[check](kind, resource)
    return found
