"""Synthetic KT 1.3 traffic for a domain: clients, practitioners, related persons, activity definitions,
care plans with activities, status updates and user messages. Reproducible by seed, scaled by the number
of clients. Every name and identifier is made up (the synthetic identifier system says so); no BSN."""

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from kt2ref.kt13.messages import EVENT_SYSTEM

SYNTHETIC = "urn:kt2ops:synthetic"
GIVEN = ("Aafke", "Bram", "Cor", "Daan", "Evi", "Fenna", "Gijs", "Hidde", "Isa", "Joep", "Kiki", "Lotte",
         "Mees", "Noor", "Olaf", "Pien", "Quinten", "Roos", "Sem", "Tess", "Ulco", "Vera", "Wout", "Yara")
FAMILY = ("Testmans", "Proefstra", "Voorbeeld", "Fictief", "Nepveld", "Demobos", "Schijnhout", "Synthees")
MODULES = ("Slaapdagboek", "Piekeren", "Angst de baas", "Stemming", "Ontspanning", "Sociale steun",
           "Terugvalpreventie", "Gedachten uitdagen", "Beweging", "Zelfbeeld")
ACTIVITY_STATUSES = ("Available", "InProgress", "Completed")
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
COD472 = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472"  # Vektis "soort relatie client"
RELATIONS = (("23", "Contactpersoon"), ("24", "Wettelijke vertegenwoordiger"), ("01", "Eerste relatie/contactpersoon"))


def creates(config: dict[str, Any]) -> dict[str, set[str]]:
    """Per application of a domain's configuration, the types its role may create."""
    roles = config.get("roles", {})
    return {cid: {p["resource"] for p in roles.get(app.get("role"), {}).get("permissions", [])
                  if "create" in p["operations"]}
            for cid, app in config["applications"].items()}


def generate(domain: str, seed: int, clients: int,
             applications: dict[str, set[str]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(sender, message bundle) in the order the applications sent them. `applications`: client id -> the
    types its KT 2.0 role may create; each type is sent by applications that may create it (by any when none
    may), so that every application can publish what it sent when the domain moves to KT 2.0."""
    rng = random.Random(f"{domain}:{seed}")
    # Details KT 2.0's profiles need (contact details, relations, dates) come from a second stream, so the
    # first one, which decides who and what there is, gives the same domain as before they were added.
    detail = random.Random(f"{domain}:{seed}:details")
    senders = sorted(applications) or ["synthetic-app"]

    def senders_of(kind: str) -> list[str]:
        return [a for a in senders if kind in applications.get(a, ())] or senders

    clock = [START]

    def message(event: str, resource: dict[str, Any], patient: str | None) -> tuple[str, dict[str, Any]]:
        clock[0] += timedelta(seconds=rng.randint(1, 90))
        header = {"resourceType": "MessageHeader", "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                  "timestamp": clock[0].isoformat(), "event": {"system": EVENT_SYSTEM, "code": event},
                  "source": {"endpoint": sender}, "data": [{"reference": f"{resource['resourceType']}/"
                                                                          f"{resource['id']}"}]}
        if patient:
            header["patient"] = {"reference": patient}
        return sender, {"resourceType": "Bundle", "type": "message",
                        "entry": [{"resource": header}, {"resource": resource}]}

    def person(kind: str, number: int) -> dict[str, Any]:
        return {"resourceType": kind, "id": f"{kind.lower()}-{number:06d}",
                "identifier": [{"system": f"{SYNTHETIC}:{kind.lower()}", "value": f"{domain}-{number:06d}"}],
                "name": [{"use": "official", "given": [rng.choice(GIVEN)], "family": rng.choice(FAMILY)}]}

    def birth_date(first: int, last: int) -> str:
        return f"{detail.randint(first, last)}-{detail.randint(1, 12):02d}-{detail.randint(1, 28):02d}"

    sender = senders_of("Practitioner")[0]
    practitioners = [person("Practitioner", n) for n in range(max(2, clients // 20))]
    for practitioner in practitioners:
        name = practitioner["name"][0]
        practitioner["telecom"] = [{"system": "email", "value": f"{name['given'][0]}.{name['family']}."
                                    f"{practitioner['id'][-6:]}@zorg.example".lower()}]
        yield message("CreateOrUpdatePractitioner", practitioner, None)
    definitions = []
    for n in range(min(40, 5 + clients // 200)):
        sender = rng.choice(senders_of("ActivityDefinition"))
        definition = {"resourceType": "ActivityDefinition", "id": f"activitydefinition-{n:04d}",
                      "url": f"https://modules.example/{domain.lower()}/activitydefinition-{n:04d}",
                      "title": f"{MODULES[n % len(MODULES)]} {n // len(MODULES) + 1}", "isActive": True,
                      "isArchived": rng.random() < 0.1}
        definitions.append(definition)
        yield message("CreateOrUpdateActivityDefinition", definition, None)
    related = 0
    for n in range(clients):
        sender = senders_of("Patient")[0]
        patient = person("Patient", n)
        patient.update(gender=rng.choice(("male", "female", "other")),
                       birthDate=f"{rng.randint(1940, 2012)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
        ref = f"Patient/{patient['id']}"
        yield message("CreateOrUpdatePatient", patient, ref)
        if rng.random() < 0.33:
            relative = person("RelatedPerson", related)
            code, display = detail.choice(RELATIONS)
            relative.update(patient={"reference": ref}, gender=detail.choice(("male", "female")),
                            birthDate=birth_date(1940, 2004),
                            relationship=[{"coding": [{"system": COD472, "code": code, "display": display}]}])
            related += 1
            sender = senders_of("RelatedPerson")[0]
            yield message("CreateOrUpdateRelatedPerson", relative, ref)
        activities = [{"id": f"activity-{n:06d}-{a}", "definition": {"reference": "ActivityDefinition/"
                                                                      + rng.choice(definitions)["id"]},
                       "status": "Available"} for a in range(rng.randint(1, 4))]
        for activity in activities:  # planned from the day the care plan is sent, for two to eight weeks
            start = clock[0] + timedelta(days=1)
            activity["period"] = {"start": start.date().isoformat(),
                                  "end": (start + timedelta(weeks=detail.randint(2, 8))).date().isoformat()}
        plan = {"resourceType": "CarePlan", "id": f"careplan-{n:06d}", "patient": {"reference": ref},
                "careTeam": [{"reference": "Practitioner/" + rng.choice(practitioners)["id"]}],
                "activity": activities}
        sender = senders_of("Task")[0]  # its activities become Tasks
        yield message("CreateOrUpdateCarePlan", plan, ref)
        sender = rng.choice(senders)
        for activity in activities:
            for status in ACTIVITY_STATUSES[1:rng.randint(1, 3)]:
                update = {"resourceType": "CarePlanActivityStatus", "id": f"{activity['id']}-{status.lower()}",
                          "activity": activity["id"], "activityStatus": status}
                yield message("UpdateCarePlanActivityStatus", update, ref)
        if rng.random() < 0.5:
            note = {"resourceType": "UserMessage", "id": f"usermessage-{n:06d}", "subject": "Herinnering",
                    "content": "Synthetisch bericht: vergeet uw opdracht niet."}
            yield message("CreateOrUpdateUserMessage", note, ref)
