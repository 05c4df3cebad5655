"""The KT2 profiles' constraints on the types the migration creates (implementation guide 0.16.3, see
../shared/KT2-PROFILES.md): what a mapped resource must carry, what it may not, the fixed values and the
guide's invariants. Validation checks every mapped resource against them before anything is sent, so a
resource KT 2.0 would refuse is a finding naming the element, not a failed Bundle in the evening window."""

from __future__ import annotations

from typing import Any

RESOURCE_ORIGIN = "http://koppeltaal.nl/fhir/StructureDefinition/resource-origin"
ENDPOINT_EXTENSION = "http://koppeltaal.nl/fhir/StructureDefinition/KT2EndpointExtension"
INSTANTIATES = "http://vzvz.nl/fhir/StructureDefinition/instantiates"
COD472 = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472"
COD472_DISPLAY = {"23": "Contactpersoon", "24": "Wettelijke vertegenwoordiger"}  # kt2-role-display-validation

REQUIRED = {
    "Patient": ("identifier", "active", "name", "gender", "birthDate"),
    "Practitioner": ("identifier", "active", "name"),  # and an e-mail address: below
    "RelatedPerson": ("identifier", "active", "patient", "relationship", "name", "gender", "birthDate"),
    "CareTeam": ("identifier", "status", "subject"),
    "ActivityDefinition": ("url", "title", "status"),
    "Task": ("identifier", "status", "intent", "for", "owner"),
}
PROHIBITED = {
    "Patient": ("deceasedBoolean", "deceasedDateTime", "multipleBirthBoolean", "multipleBirthInteger",
                "maritalStatus", "photo", "contact", "communication", "generalPractitioner", "link"),
    "Practitioner": ("address", "photo", "qualification", "communication"),
    "RelatedPerson": ("photo",),
    "CareTeam": ("category", "encounter", "reasonCode", "reasonReference", "telecom", "note"),
    "ActivityDefinition": (
        "experimental", "subjectCodeableConcept", "subjectReference", "date", "publisher", "contact",
        "jurisdiction", "purpose", "usage", "copyright", "approvalDate", "lastReviewDate", "effectivePeriod",
        "author", "editor", "reviewer", "endorser", "relatedArtifact", "library", "kind", "profile", "intent",
        "priority", "doNotPerform", "timingTiming", "timingDateTime", "timingAge", "timingPeriod", "timingRange",
        "timingDuration", "location", "productReference", "productCodeableConcept", "quantity", "dosage",
        "bodySite", "specimenRequirement", "observationRequirement", "observationResultRequirement",
        "transform", "dynamicValue"),
    "Task": ("instantiatesUri", "basedOn", "groupIdentifier", "statusReason", "businessStatus", "focus",
             "encounter", "performerType", "location", "reasonCode", "reasonReference", "insurance", "note",
             "relevantHistory", "restriction", "input", "output"),
}
# Reference targets the profiles allow, by element (a reference is "<Type>/<id>").
TARGETS = {
    ("Patient", "managingOrganization"): ("Organization",),
    ("RelatedPerson", "patient"): ("Patient",),
    ("CareTeam", "subject"): ("Patient",),
    ("CareTeam", "managingOrganization"): ("Organization",),
    ("Task", "for"): ("Patient",),
    ("Task", "requester"): ("Practitioner",),
    ("Task", "owner"): ("CareTeam", "Patient", "Practitioner", "RelatedPerson"),
}


def _target(value: Any) -> str:
    return str((value or {}).get("reference", "")).partition("/")[0] if isinstance(value, dict) else ""


def _names(kind: str, resource: dict[str, Any]) -> list[str]:
    """kt2pnu-1/-2: every name has a use; the official name has a family name and a given name."""
    problems = [f"name[{i}].use: required on every name (kt2pnu)" for i, name in enumerate(resource.get("name", []))
                if not name.get("use")]
    for i, name in enumerate(resource.get("name", [])):
        if name.get("use") == "official" and kind in ("Patient", "Practitioner") \
                and not (name.get("family") and name.get("given")):
            problems.append(f"name[{i}]: the official name needs family and given")
    return problems


def _extensions(resource: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [e for e in resource.get("extension", []) if e.get("url") == url]


def _specific(kind: str, resource: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if kind in ("Patient", "Practitioner"):
        problems += _names(kind, resource)
    if kind == "Practitioner" and not any(t.get("system") == "email" for t in resource.get("telecom", [])):
        problems.append("telecom: at least one e-mail address is required")
    if kind == "RelatedPerson":
        for i, concept in enumerate(resource.get("relationship", [])):
            for coding in concept.get("coding", []):
                wanted = COD472_DISPLAY.get(coding.get("code")) if coding.get("system") == COD472 else None
                if wanted and coding.get("display") != wanted:
                    problems.append(f"relationship[{i}]: COD472 code {coding['code']} needs display {wanted!r} "
                                    "(kt2-role-display-validation)")
    if kind == "CareTeam":
        for i, participant in enumerate(resource.get("participant", [])):
            if _target(participant.get("member")) not in ("RelatedPerson", "Practitioner"):
                problems.append(f"participant[{i}].member: must be a RelatedPerson or Practitioner "
                                "(the patient is the subject only)")
    if kind == "ActivityDefinition" and not _extensions(resource, ENDPOINT_EXTENSION):
        problems.append("extension:endpoint: at least one Endpoint (the application that offers it) is required")
    if kind == "Task":
        if resource.get("priority", "routine") != "routine":
            problems.append("priority: fixed to routine")
        if any(e.get("url", "").endswith("/instantiates") and e.get("url") != INSTANTIATES
               for e in resource.get("extension", [])):
            problems.append(f"extension: the instantiates extension is {INSTANTIATES}")
    if len(_extensions(resource, RESOURCE_ORIGIN)) > 1:
        problems.append("extension:resource-origin: at most one")
    return problems


def violations(resource: dict[str, Any]) -> list[str]:
    """'<Type>.<element>: <rule>' for each KT2 profile constraint the resource breaks; empty when it conforms."""
    kind = resource["resourceType"]
    problems = [f"{element}: required by KT2{kind}" for element in REQUIRED.get(kind, ())
                if resource.get(element) in (None, [], "", {})]
    problems += [f"{element}: not allowed by KT2{kind}" for element in PROHIBITED.get(kind, ()) if element in resource]
    problems += [f"{element}: must reference {' or '.join(targets)}"
                 for (rtype, element), targets in TARGETS.items()
                 if rtype == kind and element in resource and _target(resource[element]) not in targets]
    return [f"{kind}.{problem}" for problem in problems + _specific(kind, resource)]
