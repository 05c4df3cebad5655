# Appendix B, general point 4: the copy of production data on a temporary environment is deleted after
# the migration: the resource service holds no domain that is no longer configured there.
package kt2.controls.bg4_data_deleted

import rego.v1

import data.kt2.lib

findings contains f if {
	some [env_id, name, host] in lib.hosts
	some domain in host.hosted_domains.domains
	not input.environments[env_id].domains_configured[domain.id]
	f := {"environment": env_id, "host": name, "message": sprintf("data of domain %s is still on %s although the domain is no longer configured there", [domain.id, env_id])}
}
