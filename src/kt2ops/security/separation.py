"""Appendix B.5, environment separation, derived from the inventory's environment facts (kt2_env).

Used by the firewall (which networks to refuse), by the refusal of configuration that points at
another environment, and by the compliance check; so isolation is computed, never typed twice.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")


def other_networks(environments: list[Mapping[str, Any]], own_id: str) -> list[str]:
    """The networks of every environment but `own_id`, each once, in inventory order."""
    networks: list[str] = []
    for env in environments:
        if env["id"] != own_id and str(env["network"]) not in networks:
            networks.append(str(env["network"]))
    return networks


def foreign_references(config: Mapping[str, Any], environments: list[Mapping[str, Any]],
                       own_id: str) -> list[str]:
    """Where `config` names another environment's service host name or an address in its network,
    as 'path: value (environment)' lines; empty when the configuration stays inside its environment."""
    others = [e for e in environments if e["id"] != own_id]
    found = []
    for path, text in _strings(config, ""):
        for env in others:
            hostname = env.get("service_hostname")
            network = ipaddress.ip_network(str(env["network"]))
            in_network = any(_in(address, network) for address in _IPV4.findall(text))
            if (hostname and hostname in text) or in_network:
                found.append(f"{path}: {text!r} points at {env['id']}")
    return found


def _in(address: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(address) in network
    except ValueError:
        return False


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")
