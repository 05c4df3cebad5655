"""FHIR rules of the resource service: supported types, validation, resource-origin, search parameters."""

import base64
import re
from datetime import datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from kt2ref.common import BadRequest

RESOURCE_TYPES = frozenset({
    "Patient", "Practitioner", "RelatedPerson", "Organization", "Endpoint", "Device", "ActivityDefinition",
    "Task", "CareTeam", "AuditEvent", "Subscription",
})
RESOURCE_ORIGIN = "http://koppeltaal.nl/fhir/StructureDefinition/resource-origin"
ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
DATE_PREFIXES = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
SEARCH_PARAMETERS = {"_id", "_lastUpdated", "_summary", "_count", "_cursor", "identifier", "resource-origin"}


def write_cursor(after: tuple[datetime, str]) -> str:
    """The opaque _cursor of a next link: where the page before it ended, in (last_updated, id) order."""
    return base64.urlsafe_b64encode(f"{after[0].isoformat()}|{after[1]}".encode()).decode()


def read_cursor(token: str) -> tuple[datetime, str]:
    try:
        moment, _, resource_id = base64.urlsafe_b64decode(token.encode()).decode().rpartition("|")
        return datetime.fromisoformat(moment), resource_id
    except ValueError as error:
        raise BadRequest("_cursor: not a cursor of this server's next link") from error


def check_type(resource_type: str) -> None:
    if resource_type not in RESOURCE_TYPES:
        raise BadRequest(f"resource type {resource_type!r} is not supported here", 404, "not-supported")


def validate(resource: Any, resource_type: str | None = None, where: str = "") -> None:
    """Reject anything that is not a valid resource of a supported type (message names the element)."""
    prefix = f"{where}: " if where else ""
    if not isinstance(resource, dict) or "resourceType" not in resource:
        raise BadRequest(f"{prefix}body is not a FHIR resource (no resourceType)")
    actual = resource["resourceType"]
    if resource_type is not None and actual != resource_type:
        raise BadRequest(f"{prefix}resourceType {actual!r} does not match the URL's {resource_type!r}")
    check_type(actual)
    try:
        get_fhir_model_class(actual).model_validate(resource)
    except ValidationError as error:
        problems = "; ".join(f"{actual}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in error.errors()[:5])
        raise BadRequest(f"{prefix}invalid {actual}: {problems}") from error


def origin_of(resource: dict[str, Any]) -> str | None:
    for extension in resource.get("extension", []):
        if extension.get("url") == RESOURCE_ORIGIN:
            return extension.get("valueReference", {}).get("reference")
    return None


def with_origin(resource: dict[str, Any], origin: str | None) -> dict[str, Any]:
    """The resource with exactly one resource-origin extension (the server's, not the client's)."""
    extensions = [e for e in resource.get("extension", []) if e.get("url") != RESOURCE_ORIGIN]
    if origin:
        extensions.append({"url": RESOURCE_ORIGIN, "valueReference": {"reference": origin}})
    result = {**resource}
    if extensions:
        result["extension"] = extensions
    else:
        result.pop("extension", None)
    return result


def search_conditions(params: list[tuple[str, str]]) -> tuple[list[str], list[Any]]:
    """SQL conditions and arguments for the supported search parameters; unknown ones are an error."""
    conditions: list[str] = []
    args: list[Any] = []
    for name, value in params:
        if name not in SEARCH_PARAMETERS:
            raise BadRequest(f"search parameter {name!r} is not supported "
                             f"(supported: {', '.join(sorted(SEARCH_PARAMETERS))})")
        if name == "_id":
            conditions.append("id = ANY(%s)")
            args.append(value.split(","))
        elif name == "_lastUpdated":
            prefix, moment = (value[:2], value[2:]) if value[:2] in DATE_PREFIXES else ("eq", value)
            try:
                parsed = datetime.fromisoformat(moment)
            except ValueError as error:
                raise BadRequest(f"_lastUpdated: {moment!r} is not a date or dateTime") from error
            conditions.append(f"last_updated {DATE_PREFIXES[prefix]} %s")
            args.append(parsed)
        elif name == "identifier":
            system, bar, code = value.partition("|")
            # system|value, system| (any value in that system), |value (no system) or a bare value
            token = {"system": system, **({"value": code} if code else {})} if bar else {"value": value}
            conditions.append("EXISTS (SELECT 1 FROM identifiers i WHERE i.domain = resources.domain AND "
                              "i.type = resources.type AND i.id = resources.id AND "
                              + " AND ".join(f"i.{column} = %s" for column in token) + ")")
            args.extend(token.values())
        elif name == "resource-origin":
            conditions.append("origin = %s")
            args.append(value)
    return conditions, args


def resolve_references(value: Any, mapping: dict[str, str]) -> Any:
    """Replace urn:uuid references of a transaction by the ids the server assigned."""
    if isinstance(value, dict):
        result = {key: resolve_references(item, mapping) for key, item in value.items()}
        if isinstance(result.get("reference"), str) and result["reference"] in mapping:
            result["reference"] = mapping[result["reference"]]
        return result
    if isinstance(value, list):
        return [resolve_references(item, mapping) for item in value]
    return value
