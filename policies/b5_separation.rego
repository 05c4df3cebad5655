# B.5 environment separation: the host's nftables ruleset denies inbound by default, refuses every
# other environment's network in and out, and no rule lets traffic to or from one through.
package kt2.controls.b5_separation

import rego.v1

import data.kt2.lib

other_networks(env_id) := {e.network | some e in input.all_environments; e.id != env_id}

base_chain(host, hook) := [c | some item in host.nftables; c := item.chain; c.hook == hook]

refused_set(host) := {element(x) |
	some item in host.nftables
	item.set.name == "other_environments"
	some x in item.set.elem
}

element(x) := sprintf("%s/%d", [x.prefix.addr, x.prefix.len]) if is_object(x)

element(x) := x if is_string(x)

findings contains f if {
	some [env_id, name, host] in lib.hosts
	not default_deny(host)
	f := {"environment": env_id, "host": name, "message": "inbound is not denied by default (no input chain with policy drop)"}
}

default_deny(host) if {
	some c in base_chain(host, "input")
	c.policy == "drop"
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	some network in other_networks(env_id)
	not network in refused_set(host)
	f := {"environment": env_id, "host": name, "message": sprintf("the network of another environment, %s, is not in the refused set", [network])}
}

findings contains f if {
	some [env_id, name, host] in lib.hosts
	some [direction, field, verdicts] in [["outbound", "daddr", ["reject", "drop"]], ["inbound", "saddr", ["drop", "reject"]]]
	not refuses(host, field, verdicts)
	f := {"environment": env_id, "host": name, "message": sprintf("no rule refuses %s traffic of the other environments", [direction])}
}

refuses(host, field, verdicts) if {
	some item in host.nftables
	r := item.rule
	r.chain == chain_for(field)
	some e in r.expr
	e.match.left.payload.field == field
	e.match.right == "@other_environments"
	some v in r.expr
	some verdict in object.keys(v)
	verdict in verdicts
}

chain_for("daddr") := "output"

chain_for("saddr") := "input"

# An explicit accept for an address in another environment's network opens the link (nft ends the
# chain at the first verdict, so it wins over the refusal after it).
findings contains f if {
	some [env_id, name, host] in lib.hosts
	some item in host.nftables
	r := item.rule
	some v in r.expr
	"accept" in object.keys(v)
	some e in r.expr
	e.match.left.payload.field in {"daddr", "saddr"}
	address := element(e.match.right)
	some network in other_networks(env_id)
	lib.in_network(address, network)
	f := {"environment": env_id, "host": name, "message": sprintf("rule %d in chain %s accepts traffic with %s (%s)", [r.handle, r.chain, address, network])}
}
