# B.2 integrity: every data package in a host's transfer area carries a manifest, matches it, and its
# verification on arrival was recorded as passed for exactly these bytes.
package kt2.controls.b2_integrity

import rego.v1

import data.kt2.lib

findings contains f if {
	some [env_id, name, host] in lib.hosts
	some p in host.transfer_packages
	p.manifest == null
	f := {"environment": env_id, "host": name, "message": sprintf("package %s has no manifest", [p.path])}
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	some p in host.transfer_packages
	p.manifest.encrypted.sha256 != p.sha256
	f := {"environment": env_id, "host": name, "message": sprintf("package %s does not match its manifest (SHA-256 differs)", [p.path])}
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	some p in host.transfer_packages
	p.verification == null
	f := {"environment": env_id, "host": name, "message": sprintf("package %s: no verification recorded on arrival", [p.path])}
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	some p in host.transfer_packages
	p.verification != null
	not verified(p)
	f := {"environment": env_id, "host": name, "message": sprintf("package %s: the recorded verification did not pass for these bytes", [p.path])}
}

verified(p) if {
	p.verification.ok == true
	p.verification.sha256 == p.sha256
}
