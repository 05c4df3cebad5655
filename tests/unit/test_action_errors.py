"""A kt2ops error raised inside an action plugin fails the task with its message, after what the task was
doing: the action base translates every one of them, in one place. Real ansible-playbook; the action plugins
run on the control machine, so no lab host is contacted."""

from tests.conftest import ROOT, run

PLAY = """
- hosts: acc21.lab
  gather_facts: false
  tasks:
    - {task}
"""


def failed_task(tmp_path, task: str) -> str:
    book = tmp_path / "play.yml"
    book.write_text(PLAY.format(task=task))
    proc = run(".venv/bin/ansible-playbook", "-i", str(ROOT / "inventories" / "lab"), str(book), check=False)
    assert proc.returncode == 2, proc.stdout[-2000:]
    return " ".join(proc.stdout.split())


def test_a_refusal_is_named_with_what_the_task_was_doing(tmp_path):
    said = failed_task(tmp_path, "kt2ops.platform.runbook_gate: {step: L.1, domain: no-such-domain}")
    assert "msg: 'runbook L.1 for no-such-domain: " in said
    assert "no domain ''no-such-domain'' (known: ggz-groot-rivierenland, ggz-noorderlicht, jeugdzorg-delta)" in said
    assert "Traceback" not in said


def test_a_file_that_cannot_be_written_fails_with_its_path(tmp_path):
    path = "/proc/kt2ops-cannot-write-here/secret"
    said = failed_task(tmp_path, f"kt2ops.platform.secret_file: {{path: {path}, content: x}}")
    # Untranslated, Ansible reports it as "Task failed: ..." with the exception's traceback in the result.
    assert "msg: '[Errno 2] No such file or directory: ''/proc/kt2ops-cannot-write-here''" in said
