"""`kt2 lab down` removes exactly what the lab created: never another container or network."""

import json

from tests.conftest import ROOT, run

BYSTANDER = "kt2ops-bystander-not-lab"


def _labelled(kind: str) -> list:
    args = ["ps", "-a"] if kind == "container" else ["network", "ls"]
    return json.loads(run("podman", *args, "--filter", "label=io.kt2ops.lab", "--format", "json").stdout or "[]")


def test_lab_down_removes_only_the_lab(lab):
    image = "localhost/kt2ops-lab-base:latest"
    run("podman", "network", "create", "--subnet", "10.229.99.0/24", BYSTANDER)
    run("podman", "run", "-d", "--name", BYSTANDER, "--network", BYSTANDER, image, "sleep", "600")
    try:
        out = run(".venv/bin/kt2", "lab", "down").stdout
        assert out.count("removed: container") == len(lab)
        assert out.count("removed: network") == len(lab)
        assert _labelled("container") == [] and _labelled("network") == []
        assert not (ROOT / "inventories/lab/zz_lab_connection.yml").exists()
        # A container from the same image, named like ours but without the label, is untouched.
        assert run("podman", "container", "inspect", "-f", "{{.State.Status}}", BYSTANDER).stdout.strip() == "running"
        assert run("podman", "network", "exists", BYSTANDER, check=False).returncode == 0
        # The image stays cached, so the next `lab up` is warm; a second `lab down` has nothing to do.
        assert run("podman", "image", "exists", image, check=False).returncode == 0
        assert "lab down: 0 removed" in run(".venv/bin/kt2", "lab", "down").stdout
    finally:
        run("podman", "rm", "-f", "-t", "0", BYSTANDER, check=False)
        run("podman", "network", "rm", BYSTANDER, check=False)
