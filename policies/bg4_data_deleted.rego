# Appendix B, general point 4: the copy of production data on a temporary environment is deleted after
# the migration: the resource service holds no domain that is no longer configured there.
package kt2.controls.bg4_data_deleted

import rego.v1

# Held minus configured as one object operation: 4,000 domains cost what 4 do (one lookup each took 0.2 ms).
findings contains f if {
	some env_id, env in input.environments
	some name, held in env.domains_held
	some domain_id, _ in object.remove(held, object.keys(env.domains_configured))
	f := {"environment": env_id, "host": name, "message": sprintf("data of domain %s is still on %s although the domain is no longer configured there", [domain_id, env_id])}
}
