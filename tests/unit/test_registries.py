"""The service registry (kt2ops.services) and the layout registry (kt2ops.layout) are the one place each port
and each default location is written; roles, playbooks and Python read them, and an inventory moves a location
with the variable of the same name."""

import json
import re
from pathlib import Path

import pytest

from kt2ops.errors import Kt2OpsError
from kt2ops.layout import DEFAULTS, layout, pki_dir, setting
from kt2ops.services import PORTS, contract_url
from tests.conftest import ROOT, run

# What runs: roles (not their molecule scenarios, which check from outside what the registry says), playbooks,
# the collection's plugins (not the modules' documentation), the package, the benchmarks.
CODE = [*ROOT.glob("roles/*/[dtm]*/**/*.*"), *ROOT.glob("playbooks/**/*.yml"), *ROOT.glob("plugins/*/*.py"),
        *ROOT.glob("src/kt2ops/**/*.py"), *ROOT.glob("bench/*.py")]
DOCS = re.compile(r'^(DOCUMENTATION|EXAMPLES|RETURN) = r?""".*?"""', re.S | re.M)
REGISTRIES = {ROOT / "src/kt2ops/services.py", ROOT / "src/kt2ops/layout.py"}


def _code_lines():
    for path in CODE:
        if path in REGISTRIES or "molecule" in path.parts or path.parent.name in ("modules", "doc_fragments"):
            continue
        # A plugin's documentation strings show examples, not what runs.
        text = DOCS.sub(lambda m: "\n" * m.group().count("\n"), path.read_text())
        for number, line in enumerate(text.splitlines(), 1):
            if not line.lstrip().startswith("#"):
                yield f"{path.relative_to(ROOT)}:{number}", line


def test_a_location_comes_from_the_inventory_else_from_the_registry(tmp_path):
    assert layout("kt2_fhir_server_database", "prd2") == "kt2_prd2"
    assert setting({}, "kt2_transfer_root") == DEFAULTS["kt2_transfer_root"]
    assert setting({"kt2_transfer_root": "/data/in"}, "kt2_transfer_root") == "/data/in"
    assert setting({"kt2_fhir_server_database": "fhir"}, "kt2_fhir_server_database", "prd2") == "fhir"
    assert pki_dir(tmp_path, {}) == tmp_path / ".pki"
    assert pki_dir(tmp_path, {"kt2_pki_dir": "/secure/pki"}) == Path("/secure/pki")
    with pytest.raises(Kt2OpsError, match="no location 'kt2_backup_dir'"):
        layout("kt2_backup_dir")


def test_roles_and_playbooks_read_the_registries_through_the_filters(tmp_path):
    expressions = {
        "port": "{{ 'kt13_server' | kt2ops.platform.service_port }}",
        "contract": "{{ 'auth_service' | kt2ops.platform.contract_url }}",
        "database": "{{ 'kt2_fhir_server_database' | kt2ops.platform.layout('acc22') }}",
        "moved": "{{ {'kt2_transfer_root': '/data/in'} | kt2ops.platform.setting('kt2_transfer_root') }}",
        "default": "{{ {} | kt2ops.platform.setting('kt2_nginx_limit_exempt_file') }}",
    }
    proc = run(".venv/bin/ansible", "localhost", "-m", "ansible.builtin.debug", "-a", json.dumps({"msg": expressions}),
               env={"ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"}, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    shown = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    assert shown == {"port": PORTS["kt13_server"], "contract": contract_url("auth_service"),
                     "database": "kt2_acc22", "moved": "/data/in",
                     "default": DEFAULTS["kt2_nginx_limit_exempt_file"]}


@pytest.mark.parametrize("value", [str(p) for p in PORTS.values()]
                         + [v for v in DEFAULTS.values() if v.startswith("/")])
def test_each_port_and_location_is_written_only_in_its_registry(value):
    pattern = re.compile(rf"(?<![\w.]){re.escape(value)}(?![\w])")
    assert [where for where, line in _code_lines() if pattern.search(line)] == []


def test_the_pki_directory_is_written_only_in_its_registry():
    assert [where for where, line in _code_lines() if re.search(r"['\"/]\.pki\b", line)] == []
