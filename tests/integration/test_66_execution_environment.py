"""The execution environment AWX runs kt2ops in (execution-environment.yml): built by ansible-builder on the
lab's own base image without network, and the project's playbooks and runbook steps run inside it by
ansible-runner against the lab, as AWX runs a job: site.yml finds the converged lab unchanged, a decision is
recorded, a step runs gated and recorded, and a step without its decisions is refused and recorded."""

import json

import pytest

from kt2ops.runbook.state import audit_log
from tests.conftest import run
from tests.integration import ee_build
from tests.integration.conftest import contract, copy_lab_inventory, host_of, ok, recap

DOMAIN, KT13_DOMAIN = "jeugdzorg-delta", "JZDELTA"


def kt2(*args, env=None):
    return run(".venv/bin/kt2", *args, check=False, env=env, timeout=1800)


@pytest.fixture(scope="module")
def ee_image():
    return ee_build.image()  # started in the background when the session started


def test_the_image_is_an_execution_environment_with_the_project_dependencies(ee_image, tmp_path):
    (image,) = json.loads(run("podman", "image", "inspect", ee_image).stdout)
    assert image["Config"]["Labels"]["ansible-execution-environment"] == "true"
    # Offline, as AWX starts it: ansible-core of the project's range, ansible-runner, kt2ops' dependencies.
    probe = ("import ansible, ansible_runner, mitogen, pyrage, sslyze, regopy, paramiko, pyinfra; "
             "print(ansible.__version__)")
    version = run("podman", "run", "--rm", "--network=none", ee_image, "python3", "-c", probe).stdout.strip()
    assert version.startswith("2.19.")
    # A playbook given to `kt2 ee playbook` runs on the image's Python, not on this machine's.
    book = tmp_path / "where.yml"
    book.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                    "    - ansible.builtin.debug: {msg: 'controller python {{ ansible_playbook_python }}'}\n")
    proc = ok(kt2("ee", "playbook", "-i", "localhost,", "-c", "local", str(book)))
    assert "controller python /usr/bin/python3" in proc.stdout


def test_site_runs_in_the_ee_and_finds_the_converged_lab_unchanged(secured, ee_image):
    proc = ok(kt2("ee", "playbook", "playbooks/site.yml"))
    counts = recap(proc.stdout)
    assert {h["host"] for h in secured} <= set(counts)
    for host, count in counts.items():
        assert (count["changed"], count["failed"], count["unreachable"]) == (0, 0, 0), f"{host}: {count}"


def test_a_decision_and_a_runbook_step_run_in_the_ee_with_gate_and_audit(secured, ee_image, tmp_path):
    inventory = copy_lab_inventory(tmp_path / "lab")
    kt13 = host_of(secured, "kt13")
    decide = ["-i", str(inventory), "playbooks/runbook/decide.yml", "-e", json.dumps({
        "kt2_domain": DOMAIN, "kt2_decision": "O.10", "kt2_decision_value": "GO", "kt2_decided_by": "A. de Vries",
        "kt2_decided_role": "it_supplier", "kt2_decision_reason": "lab test of the AWX decision job template"})]
    # The decision job template refuses a role that may not decide, naming it, and records nothing.
    refused = kt2("ee", "playbook", *decide)
    assert refused.returncode != 0 and "role: O.10 is decided by care_provider" in refused.stdout
    assert not any(r.get("type") == "decision" for r in audit_log(inventory).records())
    decide[-1] = decide[-1].replace("it_supplier", "care_provider")
    ok(kt2("ee", "playbook", *decide))
    (record,) = [r for r in audit_log(inventory).records() if r.get("type") == "decision"]
    assert (record["decision"], record["value"], record["by"], record["role"]) == (
        "O.10", "GO", "A. de Vries", "care_provider")

    # A runbook step (L.1, the freeze) as its AWX job template runs it: gated, done on KT 1.3, recorded.
    try:
        ok(kt2("run", "L.1", "--domain", DOMAIN, "-i", str(inventory), "--ee"))
        assert contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/freeze")[1] == {"frozen": True}
        status = json.loads(ok(kt2("runbook", "status", "--domain", DOMAIN, "-i", str(inventory), "--json")).stdout)
        assert status["steps"]["L.1"] == "done"
        # The gate still judges inside the EE: Q.9 without Q.7 and Q.8 on record is refused before any change,
        # with every reason, and the refusal is recorded like any run.
        refused = kt2("run", "Q.9", "--domain", DOMAIN, "-i", str(inventory), "--ee")
        assert refused.returncode != 0 and "Q.9 refused for jeugdzorg-delta" in refused.stdout
        for decision in ("Q.7", "Q.8"):
            assert f"no decision recorded for {decision}" in refused.stdout
        ends = [r for r in audit_log(inventory).records() if r.get("type") == "step.end"]
        assert [(r["step"], r["result"]) for r in ends] == [("L.1", "ok"), ("Q.9", "refused")]
    finally:
        ok(kt2("run", "L.1", "--undo", "--domain", DOMAIN, "-i", str(inventory), "--ee"))
    assert contract(kt13, 8090, f"/_contract/domains/{KT13_DOMAIN}/freeze")[1] == {"frozen": False}
