# Where each service of an environment listens: the registry kt2ops.services, the one place ports are written.
# Each filter's documentation is the YAML file of its name beside this one.
from __future__ import annotations

from kt2ops.services import contract_url, service_port, service_url


class FilterModule:
    def filters(self):
        return {"service_port": service_port, "service_url": service_url, "contract_url": contract_url}
