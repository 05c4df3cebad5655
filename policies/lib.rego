# Helpers shared by the control policies.
# Note for authors: rego-cpp mangles sprintf("%s") of a concat()/upper() result; build such messages
# with concat() alone.
package kt2.lib

import rego.v1

# Every reachable host of every environment in the evidence, with its environment id.
hosts contains [env_id, name, host] if {
	some env_id, env in input.environments
	some name, host in env.hosts
	not host.error
}

# 2^k for k = 0..32 (rego-cpp has no net.cidr_* builtins).
_pow2 := [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072,
	262144, 524288, 1048576, 2097152, 4194304, 8388608, 16777216, 33554432, 67108864, 134217728,
	268435456, 536870912, 1073741824, 2147483648, 4294967296]

ip_int(address) := n if {
	octets := [to_number(o) | some o in split(address, ".")]
	count(octets) == 4
	n := ((octets[0] * 256 + octets[1]) * 256 + octets[2]) * 256 + octets[3]
}

# An IPv4 address or network ("a.b.c.d" or "a.b.c.d/len") that lies within network "a.b.c.d/len".
in_network(address, network) if {
	parts := split(network, "/")
	size := _pow2[32 - to_number(parts[1])]
	base := ip_int(parts[0])
	ip := ip_int(split(address, "/")[0])
	ip >= base
	ip < base + size
}
