# B.9: everyone on record for migration work on an environment has a signed NDA and a certificate of
# conduct (VOG), neither expired; an environment with nobody on record fails too.
package kt2.controls.b9_nda_vog

import rego.v1

label := {"nda": "NDA", "vog": "VOG"}

works_on(person, env_id) if env_id in person.environments

anyone_on(env_id) if {
	some person in input.records.people
	works_on(person, env_id)
}

findings contains f if {
	some env_id, _ in input.environments
	not anyone_on(env_id)
	f := {"environment": env_id, "host": "", "message": "nobody is on record (NDA/VOG) for migration work on this environment"}
}

findings contains f if {
	some env_id, _ in input.environments
	some person in input.records.people
	works_on(person, env_id)
	some document in ["nda", "vog"]
	not person[document].expires
	f := {"environment": env_id, "host": "", "message": sprintf("%s has no %s on record", [person.name, label[document]])}
}

findings contains f if {
	some env_id, _ in input.environments
	some person in input.records.people
	works_on(person, env_id)
	some document in ["nda", "vog"]
	person[document].expires < input.date
	f := {"environment": env_id, "host": "", "message": sprintf("the %s of %s expired on %s", [label[document], person.name, person[document].expires])}
}
