# B.6: every environment has its own certificate: the host serves the server certificate of its own
# environment's CA, for its own host name, and no two environments share a CA, a certificate, a key
# or a subject name.
package kt2.controls.b6_certificates

import rego.v1

import data.kt2.lib

pki_cert(env_id, role) := c if {
	some c in input.pki[env_id]
	c.role == role
}

findings contains f if {
	some env_id, _ in input.environments
	some role in ["ca", "server"]
	not pki_cert(env_id, role)
	f := {"environment": env_id, "host": "", "message": sprintf("no %s certificate of this environment on the control machine", [role])}
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	leaf := host.tls.chain[0]
	not input.environments[env_id].service_hostname in leaf.dns_names
	f := {"environment": env_id, "host": name, "message": sprintf("serves a certificate for %v, not for %s", [leaf.dns_names, input.environments[env_id].service_hostname])}
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	leaf := host.tls.chain[0]
	leaf.sha256 != pki_cert(env_id, "server").sha256
	f := {"environment": env_id, "host": name, "message": sprintf("serves certificate %s, not this environment's server certificate", [substring(leaf.sha256, 0, 16)])}
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	leaf := host.tls.chain[0]
	leaf.issuer != pki_cert(env_id, "ca").subject
	f := {"environment": env_id, "host": name, "message": sprintf("the served certificate is issued by %s, not by this environment's CA", [leaf.issuer])}
}

# Material shared with another environment (on the control machine or as served).
compared := [
	["sha256", "certificate", {"ca", "server", "application"}],
	["public_key_sha256", "key", {"ca", "server", "application"}],
	["subject", "subject name", {"ca", "server"}],
]

findings contains f if {
	some env_id, _ in input.environments
	some [field, label, roles] in compared
	some c in input.pki[env_id]
	c.role in roles
	some other, certs in input.pki
	other != env_id
	some d in certs
	d[field] == c[field]
	f := {"environment": env_id, "host": "", "message": sprintf("%s %s shares its %s with %s", [c.role, c.file, label, other])}
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	some [other_env, other_name, other] in lib.hosts
	other_env != env_id
	host.tls.chain[0].public_key_sha256 == other.tls.chain[0].public_key_sha256
	f := {"environment": env_id, "host": name, "message": sprintf("serves the same key as %s (%s)", [other_name, other_env])}
}
