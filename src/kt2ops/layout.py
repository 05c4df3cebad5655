"""Where kt2ops keeps its files and databases: the one place each default location is written.

An inventory moves one by setting the variable of the same name. Role defaults read the defaults through
the filter kt2ops.platform.layout; runbook plays read a host's value through kt2ops.platform.setting;
Python (actions, kt2 commands) through `setting` and `pki_dir`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kt2ops.errors import Kt2OpsError

DEFAULTS = {
    # Beside the inventory: each environment's CA and the keys kt2ops makes (role kt2_pki).
    "kt2_pki_dir": ".pki",
    # The SFTP account's chroot, where transfer packages arrive (role kt2_transfer, appendix B.1).
    "kt2_transfer_root": "/srv/kt2ops/transfer",
    # The ingress limit's exemptions, one line per domain in a migration window (role kt2_nginx, step P.8L).
    "kt2_nginx_limit_exempt_file": "/etc/nginx/kt2ops-limit-exempt.conf",
    "kt13_server_database": "kt13",  # role kt13_server
    "kt2_fhir_server_database": "kt2_{env}",  # role kt2_fhir_server, per environment id
}


def layout(name: str, env: str = "") -> str:
    """The default of a location, e.g. layout('kt2_fhir_server_database', 'prd2') == 'kt2_prd2'."""
    try:
        return DEFAULTS[name].format(env=env)
    except KeyError:
        raise Kt2OpsError(f"no location {name!r} (known: {', '.join(DEFAULTS)})") from None


def setting(variables: Mapping[str, Any], name: str, env: str = "") -> str:
    """A host's location: its variable of that name where the inventory sets one, else the default."""
    value = variables.get(name)
    return str(value) if value else layout(name, env)


def pki_dir(inventory: Path, variables: Mapping[str, Any]) -> Path:
    """The PKI directory of an inventory (an absolute kt2_pki_dir stands as it is)."""
    return inventory / setting(variables, "kt2_pki_dir")
