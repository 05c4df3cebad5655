# B.1 encrypted transfer: data moves only over HTTPS (TLS 1.2/1.3 with NCSC "good" cipher suites)
# or key-only SSH/SFTP; plain HTTP only redirects; no FTP/telnet servers; nothing else listens outside.
package kt2.controls.b1_transfer

import rego.v1

import data.kt2.lib

good_protocols := {"TLSv1.2", "TLSv1.3"}

# NCSC ICT-beveiligingsrichtlijnen voor TLS: forward secrecy with AEAD ("goed").
good_ciphers := {
	"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-GCM-SHA256",
	"ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA-AES128-GCM-SHA256",
	"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256",
}

open_ports := {22, 80, 443}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	host.tls.error
	f := {"environment": env_id, "host": name, "message": sprintf("no TLS on port %d: %s", [host.tls.port, host.tls.error])}
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	some protocol, _ in host.tls.protocols
	not protocol in good_protocols
	f := {"environment": env_id, "host": name, "message": sprintf("accepts %s on port %d", [protocol, host.tls.port])}
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	some protocol, ciphers in host.tls.protocols
	some cipher in ciphers
	not cipher in good_ciphers
	f := {"environment": env_id, "host": name, "message": sprintf("accepts cipher suite %s (%s), not NCSC good", [cipher, protocol])}
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	some path, answer in host.http
	answer.status != null
	not redirects_to_https(answer)
	f := {"environment": env_id, "host": name, "message": sprintf("plain HTTP answers %s with status %d and %d bytes instead of a redirect to HTTPS", [path, answer.status, answer.body_bytes])}
}

redirects_to_https(answer) if {
	answer.status >= 300
	answer.status < 400
	startswith(answer.location, "https://")
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	some package in host.risky_packages
	f := {"environment": env_id, "host": name, "message": sprintf("plain-text transfer server installed: %s", [package])}
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	some socket in host.sockets
	not loopback(socket.address)
	not socket.port in open_ports
	f := {"environment": env_id, "host": name, "message": sprintf("%s listens on %s:%d, outside the published ports", [socket.process, socket.address, socket.port])}
}

loopback(address) if startswith(address, "127.")

loopback("::1")

findings contains f if {
	some [env_id, name, host] in lib.hosts
	host.sshd.passwordauthentication != "no"
	f := {"environment": env_id, "host": name, "message": "SSH/SFTP accepts passwords (passwordauthentication is not no)"}
}

# Data arrives only over SFTP: the transfer account is chrooted, SFTP-only, key-only, forwards nothing.
sftp_rules := [
	["forcecommand", "internal-sftp", "the transfer account is not limited to SFTP (no ForceCommand internal-sftp)"],
	["chrootdirectory", "/", "the transfer account is not chrooted"],
	["passwordauthentication", "no", "the transfer account accepts passwords"],
	["allowtcpforwarding", "no", "the transfer account may forward TCP"],
]

findings contains f if {
	some [env_id, name, host] in lib.hosts
	some [key, prefix, message] in sftp_rules
	not startswith(object.get(host.sftp, key, ""), prefix)
	f := {"environment": env_id, "host": name, "message": message}
}
