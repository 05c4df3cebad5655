"""The KT2 profiles' rules as the fact sheet states them (../shared/KT2-PROFILES.md, sections 2 and 6), written
out here on their own, not read from the FHIR server's rule file: per profiled type, the elements it requires,
those it fixes (with the fixed value) and those bound to a required set of codes. test_42 makes its cases from
this, so a rule the server's file lacks shows up as a resource the server accepts."""

CLIENT_ID = "http://vzvz.nl/fhir/NamingSystem/koppeltaal-client-id"

FACT_SHEET = {
    "ActivityDefinition": {"required": ["url", "title", "status"], "codes": ["useContext.code"]},
    "AuditEvent": {"required": ["type", "recorded", "agent", "agent.type", "agent.who", "agent.requestor",
                                "source", "source.observer", "entity"]},
    "CareTeam": {"required": ["identifier", "status", "subject"]},
    "Device": {"required": ["identifier", "identifier.system", "status", "deviceName", "deviceName.name",
                            "deviceName.type"],
               "fixed": {"identifier.system": CLIENT_ID, "deviceName.type": "user-friendly-name"}},
    "Endpoint": {"required": ["status", "connectionType", "payloadType", "address"],
                 "fixed": {"connectionType": {"system": "http://vzvz.nl/fhir/CodeSystem/"
                                                        "koppeltaal-endpoint-connection-type",
                                              "code": "hti-smart-on-fhir"},
                           "payloadType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                                 "endpoint-payload-type", "code": "any"}]}}},
    "Organization": {"required": ["identifier", "active"]},
    "Patient": {"required": ["identifier", "active", "name", "gender", "birthDate"]},
    "Practitioner": {"required": ["identifier", "active", "name"]},
    "RelatedPerson": {"required": ["identifier", "active", "patient", "relationship", "name", "gender", "birthDate"]},
    "Subscription": {"required": ["status", "reason", "criteria", "channel", "channel.type"],
                     "fixed": {"channel.type": "rest-hook"}},
    "Task": {"required": ["identifier", "status", "intent", "for", "owner"], "fixed": {"priority": "routine"}},
}
