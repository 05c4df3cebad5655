# B.6 for tokens: on every KT 2.0 environment the authentication service publishes only public keys in its
# JWKS, signs access tokens RS512 for audience fhir-server with a key it publishes, and no application is
# registered with a key of another environment.
package kt2.controls.b6_token_signing

import rego.v1

import data.kt2.lib

private_members := {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}

kt2_hosts contains [env_id, name, host] if {
	some [env_id, name, host] in lib.hosts
	input.environments[env_id].kind == "kt2"
}

findings contains f if {
	some [env_id, name, host] in kt2_hosts
	host.token_service == null
	f := {"environment": env_id, "host": name, "message": "the authentication service gave no evidence (not running?)"}
}

findings contains f if {
	some [env_id, name, host] in kt2_hosts
	count(host.token_service.jwks_keys) == 0
	f := {"environment": env_id, "host": name, "message": "the JWKS publishes no key"}
}

findings contains f if {
	some [env_id, name, host] in kt2_hosts
	some key in host.token_service.jwks_keys
	some member in key.members
	member in private_members
	f := {"environment": env_id, "host": name, "message": sprintf("the JWKS publishes private key material (%s) of key %s", [member, key.kid])}
}

findings contains f if {
	some [env_id, name, host] in kt2_hosts
	host.token_service.probe.alg != "RS512"
	f := {"environment": env_id, "host": name, "message": sprintf("access tokens are signed %s, not RS512", [host.token_service.probe.alg])}
}

findings contains f if {
	some [env_id, name, host] in kt2_hosts
	host.token_service.probe.aud != "fhir-server"
	f := {"environment": env_id, "host": name, "message": sprintf("access tokens are for audience %v, not fhir-server", [host.token_service.probe.aud])}
}

findings contains f if {
	some [env_id, name, host] in kt2_hosts
	not host.token_service.probe.verified
	host.token_service.probe.alg
	f := {"environment": env_id, "host": name, "message": "an access token does not verify against the published JWKS"}
}

findings contains f if {
	some [env_id, name, host] in kt2_hosts
	some app in host.token_service.applications
	some other, certs in input.pki
	other != env_id
	some c in certs
	c.public_key_sha256 == app.public_key_sha256
	f := {"environment": env_id, "host": name, "message": sprintf("application %s of domain %s is registered with a key of %s (%s)", [app.client_id, app.domain, other, c.file])}
}
