"""The services each environment runs and the ports they listen on: the one place they are written.

Every service listens on the host's loopback only (nginx is the public side); its contract, the runbook's
interface to it, is under /_contract. Roles and playbooks read this through the filters
kt2ops.platform.service_port, service_url and contract_url; Python through this module.
"""

from __future__ import annotations

from kt2ops.errors import Kt2OpsError

LOOPBACK = "127.0.0.1"

PORTS = {
    "fhir_server": 8080,  # the KT 2.0 FHIR server (HAPI FHIR JPA), role kt2_fhir_server
    "auth_service": 8085,  # the KT 2.0 authentication service, role kt2_auth_service
    "app_service": 8070,  # the lab's applications, role kt2_app_service
    "kt13_server": 8090,  # the KT 1.3 server, role kt13_server
    # Not on loopback: nginx's https endpoint where KT 2.0 delivers the applications' notifications (kt2_nginx).
    "app_endpoint": 8443,
}


def service_port(name: str) -> int:
    try:
        return PORTS[name]
    except KeyError:
        raise Kt2OpsError(f"unknown service {name!r} (known: {', '.join(PORTS)})") from None


def service_url(name: str) -> str:
    """Where the service answers on its host, e.g. http://127.0.0.1:8090."""
    return f"http://{LOOPBACK}:{service_port(name)}"


def contract_url(name: str) -> str:
    """The service's contract on its host, e.g. http://127.0.0.1:8090/_contract."""
    return f"{service_url(name)}/_contract"
