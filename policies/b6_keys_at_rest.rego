# B.6 at rest: no key material of an environment (its CA and server keys, application keys, token signing
# keys, KT 1.3 passwords) and no key of the control machine's own (backup, package and archive identities,
# the SSH key of the hosts) lies on the control machine in plain text: everything is vault-encrypted.
# A file of .pki/<env> counts against that environment; any other against every environment.
package kt2.controls.b6_keys_at_rest

import rego.v1

findings contains f if {
	some env_id, _ in input.environments
	some file in input.secrets_at_rest.plain
	file.environment in {env_id, "*"}
	f := {"environment": env_id, "host": "control machine", "message": sprintf("%s lies unencrypted on the control machine (not vault-encrypted)", [file.path])}
}
