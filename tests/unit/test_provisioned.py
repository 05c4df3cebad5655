"""A resumed journey skips provisioning only while nothing provisioning reads has changed."""

from kt2ops.provisioned import record_passed, unchanged_since_passed


def test_provisioning_counts_as_passed_until_an_input_changes(tmp_path):
    inventory = tmp_path / "lab"
    (inventory / "domains").mkdir(parents=True)
    domain = inventory / "domains" / "a.yml"
    domain.write_text("domain: {id: a}\n")
    assert unchanged_since_passed(inventory) is None  # never passed
    record_passed(inventory)
    assert unchanged_since_passed(inventory) is not None
    (inventory / ".runbook" / "audit.jsonl").write_text("{}\n")  # the runbook's own records are no input
    assert unchanged_since_passed(inventory) is not None
    domain.write_text("domain: {id: a, name: changed}\n")
    assert unchanged_since_passed(inventory) is None
    record_passed(inventory)
    (inventory / ".pki").mkdir()
    (inventory / ".pki" / "new.key").write_text("a new secret\n")  # a secret is an input too
    assert unchanged_since_passed(inventory) is None
