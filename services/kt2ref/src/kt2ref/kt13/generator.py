"""Synthetic KT 1.3 traffic for a domain: clients, practitioners, related persons, care teams, activity
definitions, care plans with activities and their performers, status updates and user messages, holding what
real domains hold: contact details and addresses on some persons and not on others, several identifiers,
names beyond ASCII, archived and inactive definitions, resources replaced by a newer version. Reproducible by
seed, scaled by the number of clients, in the proportions the domain file declares (its expected counts per
type; the lab holds a domain scaled down). Every name and identifier is made up (the synthetic identifier
system says so); no BSN."""

import math
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
# Names as Dutch registers hold them, beyond ASCII (diaereses, accents, Turkish and Polish letters, prefixes).
GIVEN_WIDE = ("Zoë", "Anaïs", "Chloé", "Ümit", "Çağla", "Łucja", "Sjoerd-Jan", "Noëlle", "Björn", "Iñigo")
FAMILY_WIDE = ("van 't Hoff", "Öztürk", "de Vriës", "Ağaoğlu", "Nguyễn", "Müller-Lüdenscheidt", "Wójcik")
CITIES = ("Utrecht", "Zwolle", "Den Haag", "'s-Hertogenbosch", "Leeuwarden", "Maastricht", "Sint-Oedenrode")
STREETS = ("Dorpsstraat", "Kerkweg", "Molenlaan", "Stationsplein", "Prins Hendrikkade", "Zuiderdiep")
# Per client, where the domain file declares no count of the type: what a small GGZ domain holds.
PER_CLIENT = {"Practitioner": 0.05, "RelatedPerson": 0.33, "CareTeam": 0.6, "Task": 2.5, "ActivityDefinition": 0.005}


def per_client(counts: dict[str, int] | None) -> dict[str, float]:
    """How many of each type a client brings: the declared counts over the declared Patients, else PER_CLIENT."""
    counts = counts or {}
    patients = counts.get("Patient")
    if not patients:
        return dict(PER_CLIENT)
    return {kind: counts[kind] / patients if kind in counts else rate for kind, rate in PER_CLIENT.items()}


def how_many(draw: random.Random, mean: float) -> int:
    """A whole number whose mean over many draws is `mean` (2.3: two, and a third in 30 % of draws)."""
    return math.floor(mean) + (draw.random() < mean - math.floor(mean))


def creates(config: dict[str, Any]) -> dict[str, set[str]]:
    """Per application of a domain's configuration, the types its role may create."""
    roles = config.get("roles", {})
    return {cid: {p["resource"] for p in roles.get(app.get("role"), {}).get("permissions", [])
                  if "create" in p["operations"]}
            for cid, app in config["applications"].items()}


def generate(domain: str, seed: int, clients: int, applications: dict[str, set[str]],
             counts: dict[str, int] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(sender, message bundle) in the order the applications sent them. `applications`: client id -> the
    types its KT 2.0 role may create; each type is sent by applications that may create it (by any when none
    may), so that every application can publish what it sent when the domain moves to KT 2.0. `counts`: the
    domain's expected counts per KT 2.0 type, whose proportions to its Patients the data follows."""
    rate = per_client(counts)
    rng = random.Random(f"{domain}:{seed}")
    # Details KT 2.0's profiles need (contact details, relations, dates) come from a second stream, so the
    # first one, which decides who and what there is, gives the same domain as before they were added.
    detail = random.Random(f"{domain}:{seed}:details")
    senders = sorted(applications) or ["synthetic-app"]

    def senders_of(kind: str) -> list[str]:
        return [a for a in senders if kind in applications.get(a, ())] or senders

    clock = [START]

    def message(event: str, resource: dict[str, Any], patient: str | None,
                draw: random.Random = rng) -> tuple[str, dict[str, Any]]:
        clock[0] += timedelta(seconds=draw.randint(1, 90))
        header = {"resourceType": "MessageHeader", "id": str(uuid.UUID(int=draw.getrandbits(128), version=4)),
                  "timestamp": clock[0].isoformat(), "event": {"system": EVENT_SYSTEM, "code": event},
                  "source": {"endpoint": sender}, "data": [{"reference": f"{resource['resourceType']}/"
                                                                          f"{resource['id']}"}]}
        if patient:
            header["patient"] = {"reference": patient}
        return sender, {"resourceType": "Bundle", "type": "message",
                        "entry": [{"resource": header}, {"resource": resource}]}

    def person(kind: str, number: int) -> dict[str, Any]:
        found = {"resourceType": kind, "id": f"{kind.lower()}-{number:06d}",
                 "identifier": [{"system": f"{SYNTHETIC}:{kind.lower()}", "value": f"{domain}-{number:06d}"}],
                 "name": [{"use": "official", "given": [rng.choice(GIVEN)], "family": rng.choice(FAMILY)}]}
        if detail.random() < 0.2:  # a name beyond ASCII
            found["name"] = [{"use": "official", "given": [detail.choice(GIVEN_WIDE)],
                              "family": detail.choice(FAMILY_WIDE)}]
        if detail.random() < 0.25:  # a second identifier, e.g. the number another system gave the person
            # Unique by construction: a person's identifier belongs to that person alone (P.1 refuses one shared).
            found["identifier"].append({"system": f"{SYNTHETIC}:{kind.lower()}:registration",
                                        "value": f"R{detail.randint(10, 99)}{number:06d}"})
        return found

    def contact_details(resource: dict[str, Any], phone: float, address: float) -> None:
        """Telephone and e-mail, and a home address, on a share of persons (absent on the others)."""
        if detail.random() < phone:
            resource["telecom"] = [*resource.get("telecom", []), {"system": "phone", "use": "mobile",
                                   "value": f"06-{detail.randint(10000000, 99999999)}"}]
        if detail.random() < address:
            letters = "".join(detail.choice("ABCDEFGHJKLMNPRSTVWXZ") for _ in range(2))
            resource["address"] = [{"use": "home", "line": [f"{detail.choice(STREETS)} {detail.randint(1, 240)}"],
                                    "postalCode": f"{detail.randint(1000, 9999)} {letters}",
                                    "city": detail.choice(CITIES), "country": "NL"}]

    def birth_date(first: int, last: int) -> str:
        return f"{detail.randint(first, last)}-{detail.randint(1, 12):02d}-{detail.randint(1, 28):02d}"

    sender = senders_of("Practitioner")[0]
    practitioners = [person("Practitioner", n) for n in range(max(2, round(clients * rate["Practitioner"])))]
    for practitioner in practitioners:
        practitioner["telecom"] = [{"system": "email", "value": f"{practitioner['id']}@zorg.example"}]
        contact_details(practitioner, 0.4, 0)
        yield message("CreateOrUpdatePractitioner", practitioner, None)
    definitions = []
    # At least five, so that even a small domain has each kind below.
    for n in range(max(5, round(clients * rate["ActivityDefinition"]))):
        sender = rng.choice(senders_of("ActivityDefinition"))
        definition = {"resourceType": "ActivityDefinition", "id": f"activitydefinition-{n:04d}",
                      "url": f"https://modules.example/{domain.lower()}/activitydefinition-{n:04d}",
                      "title": f"{MODULES[n % len(MODULES)]} {n // len(MODULES) + 1}",
                      "isArchived": rng.random() < 0.1}
        # Every few definitions, by number, so that even a small domain has each kind: archived, withdrawn from
        # use without being archived, without a description; and half carry the supplier's own number.
        definition["isArchived"] = definition["isArchived"] or n % 5 == 4
        definition["isActive"] = n % 5 != 2
        if n % 4 != 3:
            definition["description"] = f"Module {definition['title']}: oefeningen en uitleg, in eigen tempo."
        if n % 2 == 0:
            definition["identifier"] = [{"system": f"{SYNTHETIC}:module", "value": f"M-{domain}-{n:04d}"}]
        definitions.append(definition)
        yield message("CreateOrUpdateActivityDefinition", definition, None)
    related = 0
    care_teams = any("CareTeam" in kinds for kinds in applications.values())  # only where an application keeps them
    for n in range(clients):
        sender = senders_of("Patient")[0]
        patient = person("Patient", n)
        patient.update(gender=rng.choice(("male", "female", "other")),
                       birthDate=f"{rng.randint(1940, 2012)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
        contact_details(patient, 0.7, 0.6)
        ref = f"Patient/{patient['id']}"
        yield message("CreateOrUpdatePatient", patient, ref)
        relatives = []
        for _ in range(how_many(rng, rate["RelatedPerson"])):
            relative = person("RelatedPerson", related)
            code, display = detail.choice(RELATIONS)
            relative.update(patient={"reference": ref}, gender=detail.choice(("male", "female")),
                            birthDate=birth_date(1940, 2004),
                            relationship=[{"coding": [{"system": COD472, "code": code, "display": display}]}])
            contact_details(relative, 0.5, 0.3)
            related += 1
            relatives.append(f"RelatedPerson/{relative['id']}")
            sender = senders_of("RelatedPerson")[0]
            yield message("CreateOrUpdateRelatedPerson", relative, ref)
        practitioner = "Practitioner/" + detail.choice(practitioners)["id"]
        # The client's teams: a practitioner each, and the relatives where there are any.
        for t in range(how_many(detail, rate["CareTeam"]) if care_teams else 0):
            number = f"{n:06d}" + (f"-{t}" if t else "")
            team = {"resourceType": "CareTeam", "id": f"careteam-{number}",
                    "identifier": [{"system": f"{SYNTHETIC}:careteam", "value": f"{domain}-{number}"}],
                    "name": f"Behandelteam {patient['name'][0]['family']}", "subject": {"reference": ref},
                    "participant": [{"member": {"reference": member}} for member in [practitioner, *relatives]]}
            if detail.random() < 0.3:
                del team["name"]
            sender = senders_of("CareTeam")[0]
            yield message("CreateOrUpdateCareTeam", team, ref, detail)
        # One to 2 x rate - 1 activities (their Tasks), rate on average.
        activities = [{"id": f"activity-{n:06d}-{a}", "definition": {"reference": "ActivityDefinition/"
                                                                      + rng.choice(definitions)["id"]},
                       "status": "Available"} for a in range(rng.randint(1, max(1, round(2 * rate["Task"] - 1))))]
        for activity in activities:  # planned from the day the care plan is sent, for two to eight weeks
            start = clock[0] + timedelta(days=1)
            activity["period"] = {"start": start.date().isoformat(),
                                  "end": (start + timedelta(weeks=detail.randint(2, 8))).date().isoformat()}
            performer = detail.random()  # who carries it out: a practitioner, a relative, else the client
            if performer < 0.35:
                activity["performer"] = {"reference": practitioner}
            elif performer < 0.5 and relatives:
                activity["performer"] = {"reference": detail.choice(relatives)}
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
        if detail.random() < 0.1:  # moved or a new number: a newer version replaces the client's first
            newer = {**patient, "telecom": [{"system": "phone", "use": "home",
                                             "value": f"0{detail.randint(100000000, 999999999)}"}]}
            contact_details(newer, 0, 1)
            sender = senders_of("Patient")[0]
            yield message("CreateOrUpdatePatient", newer, ref, detail)
