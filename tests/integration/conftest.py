import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml

from kt2ops.secrets import read_secret
from tests.conftest import LAB_INVENTORY, ROOT, run
from tests.integration import ee_build, molecule_runs
from tests.integration.oracle import in_scope_counts, kt13_holdings


@pytest.fixture(scope="session")
def lab():
    """The lab, up (idempotent), as `kt2 lab status --json` describes it."""
    run(".venv/bin/kt2", "lab", "up")
    return json.loads(run(".venv/bin/kt2", "lab", "status", "--json").stdout)


@pytest.fixture(scope="session")
def provisioned(lab):
    """The lab after playbooks/site.yml and playbooks/provision.yml."""
    for book in ("playbooks/site.yml", "playbooks/provision.yml"):
        proc = playbook(book)
        assert proc.returncode == 0, outcome(proc)
    return lab


@pytest.fixture(scope="session")
def secured(provisioned):
    """The provisioned lab after playbooks/security.yml (appendix B enforced)."""
    proc = playbook("playbooks/security.yml")
    assert proc.returncode == 0, outcome(proc)
    return provisioned


def playbook(*args: str, env: dict | None = None):
    return run(".venv/bin/ansible-playbook", *args, env=env, check=False)


def outcome(proc, tail: int = 2000) -> str:
    """What a failed playbook run tells: each failed task with its message, then the output's end."""
    failures, task = [], ""
    for line in proc.stdout.splitlines():
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            task = line
        elif line.startswith(("fatal:", "failed:")) or "FAILED!" in line:
            failures.append(f"{task}\n{line[:2000]}")
    return "\n".join([*failures, "...", proc.stdout[-tail:], proc.stderr[-1000:]])


def changed_tasks(proc) -> str:
    """Each task a playbook run changed, with the host: what a run that should change nothing shows."""
    changed, task = [], ""
    for line in proc.stdout.splitlines():
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            task = line
        elif line.startswith("changed:"):
            changed.append(f"{task} {line[:300]}")
    return "\n".join(changed) or proc.stdout[-2000:]


def nothing_changed(proc) -> bool:
    """Whether the playbook run changed nothing on any host (its recap), whether it succeeded or was refused."""
    return all(counts["changed"] == 0 for counts in recap(proc.stdout).values())


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counts per host."""
    counts = {}
    in_recap = False
    for line in output.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if in_recap and ":" in line and "=" in line:
            host, rest = line.split(":", 1)
            counts[host.strip()] = {k: int(v) for k, v in (p.split("=") for p in rest.split())}
    return counts


def host_of(lab: list[dict], environment: str) -> dict:
    return next(h for h in lab if h["environment"] == environment)


_CONTRACT_CALL = """
import json, sys, urllib.request, urllib.error
method, url, body = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request(url, method=method, data=body.encode() if body else None,
                             headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=600) as r:
        print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
"""


def contract(host: dict, port: int, path: str, method: str = "GET", body: object = None) -> tuple[int, object]:
    """Call a service's contract on the host's loopback (where only the host itself reaches it)."""
    proc = run("podman", "exec", host["container"], "python3", "-c", _CONTRACT_CALL, method,
               f"http://127.0.0.1:{port}{path}", json.dumps(body) if body is not None else "")
    status, _, text = proc.stdout.partition("\n")
    try:
        return int(status), json.loads(text)
    except ValueError:
        return int(status), text


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    """A command that must have succeeded; otherwise the end of what it said."""
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    return proc


def kt13_sql(lab: list[dict], sql: str) -> str:
    """A statement on the KT 1.3 server's database, as its postgres user; the rows unaligned."""
    return run("podman", "exec", host_of(lab, "kt13")["container"], "runuser", "-u", "postgres", "--", "psql",
               "-qtA", "kt13", "-c", sql).stdout.strip()


def notifications(lab: list[dict], env: str, app: str, resource_type: str) -> int:
    """How many notifications of a type's resources the FHIR server delivered to an application: its
    AuditEvents of type Export (DICOM 110106), read from the database (no application's role reads them)."""
    return int(run("podman", "exec", host_of(lab, env)["container"], "runuser", "-u", "postgres", "--", "psql",
                   "-qtA", "-d", f"kt2_{env}", "-c",
                   "SELECT count(*) FROM hfj_res_ver v JOIN hfj_resource r ON r.res_id = v.res_id "
                   "WHERE r.res_type = 'AuditEvent' AND v.res_text_vc LIKE '%\"110106\"%' "
                   f"AND v.res_text_vc LIKE '%\"Device/{app}\"%' "
                   f"AND v.res_text_vc LIKE '%\"reference\":\"{resource_type}/%'").stdout.strip())


def eventually(probe, patience: float = 120.0):
    """The probe's first truthy answer within the patience (HAPI delivers notifications asynchronously)."""
    deadline = time.monotonic() + patience
    while not (found := probe()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


def kt2_client(lab: list[dict], environment: str, domain: str, app: str, key_environment: str | None = None):
    """An application of `domain` talking to `environment`, signing with its key of `key_environment`."""
    from kt2ref.client import Kt2Client

    host = host_of(lab, environment)
    pki = LAB_INVENTORY / ".pki"
    key = read_secret(pki / (key_environment or environment) / "apps" / domain / f"{app}.key")
    return Kt2Client(f"https://{environment}.koppeltaal.test", domain, app, key, str(pki / environment / "ca.crt"),
                     connect_host=host["address"])


def psql(container: str, sql: str) -> str:
    """`sql` run by PostgreSQL's superuser on a lab host; its rows, one per line."""
    return run("podman", "exec", container, "runuser", "-u", "postgres", "--", "psql", "-XAtc", sql).stdout.strip()


def kt13_password(kt13_domain: str, application: str) -> str:
    """The application's KT 1.3 password, as the kt2_domain role issued it on the control machine."""
    for path in (LAB_INVENTORY / "domains").glob("*.yml"):
        document = yaml.safe_load(path.read_text())
        if document["kt13"]["domain"] == kt13_domain:
            folder = LAB_INVENTORY / ".pki" / "kt13" / "apps" / document["domain"]["id"]
            return read_secret(folder / f"{application}.password").decode().strip()
    raise LookupError(f"no lab domain file for KT 1.3 domain {kt13_domain}")


class Kt13App:
    """An application of the domain, over nginx and TLS on the kt13 host, authenticated by its own KT 1.3
    credential (HTTP basic); `auth` overrides it (None: no credential at all)."""

    def __init__(self, lab, application, domain="NOORDERLICHT", auth=...):
        self.host = host_of(lab, "kt13")
        self.domain = domain
        context = ssl.create_default_context(cafile=str(LAB_INVENTORY / ".pki" / "kt13" / "ca.crt"))
        credential = (application, kt13_password(domain, application)) if auth is ... else auth
        self.http = httpx.Client(verify=context, timeout=30, auth=credential)
        self.application = application

    def call(self, method, path, **kwargs):
        headers = {"Host": "kt13.koppeltaal.test", **kwargs.pop("headers", {})}
        return self.http.request(method, f"https://{self.host['address']}/kt13/{self.domain}/FHIR/Koppeltaal/{path}",
                                 headers=headers, extensions={"sni_hostname": "kt13.koppeltaal.test"}, **kwargs)

    def post(self, patient, event="CreateOrUpdatePatient"):
        header = {"resourceType": "MessageHeader", "id": str(uuid.uuid4()), "timestamp": datetime.now(UTC).isoformat(),
                  "event": {"system": "http://koppeltaal.nl/fhir/message-event", "code": event},
                  "data": [{"reference": patient}], "patient": {"reference": patient}}
        bundle = {"resourceType": "Bundle", "type": "message",
                  "entry": [{"resource": header}, {"resource": self.patient(patient)}]}
        return header["id"], self.call("POST", "Mailbox", json=bundle)

    @staticmethod
    def patient(reference):
        """A client as KT 1.3 carries it, with what the migration's checks and KT 2.0's profile require."""
        patient_id = reference.removeprefix("Patient/")
        return {"resourceType": "Patient", "id": patient_id,
                "name": [{"use": "official", "family": "Live", "given": ["Lia"]}], "gender": "female",
                "birthDate": "1990-05-17",
                "identifier": [{"system": "urn:kt2ops:synthetic:patient", "value": patient_id}]}

    def claim(self, patient=None, count=10):
        params = {"_query": "MessageHeader.GetNextNewAndClaim", "_count": count}
        return self.call("GET", "MessageHeader/_search", params={**params, **({"patient": patient} if patient else {})})

    def settle(self, message_id, status):
        return self.call("PUT", f"MessageHeader/{message_id}/_status", json={"status": status})


@pytest.fixture
def lab_inventory_copy(tmp_path):
    return copy_lab_inventory(tmp_path / "lab")


def copy_lab_inventory(target):
    """A private copy of the lab inventory that still reaches the lab hosts (connection file and PKI
    included), with a runbook state of its own, to break at will without touching the real one."""
    import shutil

    shutil.copytree(LAB_INVENTORY, target, ignore=shutil.ignore_patterns(".lab", ".runbook"))
    return target


# KT 1.3's closing statuses as the migration guide maps them (Completed, Cancelled, Expired).
def kt13_base(kt13_domain: str) -> str:
    """The domain's FHIR base on the lab's KT 1.3 server, as the lab inventory gives it."""
    variables = yaml.safe_load((LAB_INVENTORY / "group_vars" / "kt13.yml").read_text())
    return variables["kt13_fhir_base"].format(domain=kt13_domain)


def kt13_export(lab: list[dict], kt13_domain: str) -> list[str]:
    """The domain's KT 1.3 export, one message per line, as the KT 1.3 server hands it out."""
    status, lines = contract(host_of(lab, "kt13"), 8090, f"/_contract/domains/{kt13_domain}/export")
    assert status == 200, lines
    return lines.splitlines() if isinstance(lines, str) else [json.dumps(lines)]  # one line parses as JSON


def kt13_facts(lab: list[dict], kt13_domain: str, folder: Path) -> dict[str, dict]:
    """What KT 1.3 holds of the domain now, per KT 1.3 link, read by Q.2's content reader from its export."""
    from kt2ops.migration.content import source_facts

    export = folder / f"{kt13_domain}-oracle.jsonl"
    export.write_text("\n".join(kt13_export(lab, kt13_domain)) + "\n")
    facts = source_facts(export, kt13_base(kt13_domain), folder / f"{kt13_domain}-oracle.sqlite")
    try:
        return dict(facts)
    finally:
        facts.close()


def expected_in_scope(lab: list[dict], domain: str) -> dict[str, int]:
    """What the domain file's scope leaves of the domain, counted from what KT 1.3 holds now by the tests' own
    reading of its export (oracle.py, not kt2ops' reader, staging or mapping): every resource once; with K.1
    open_only, a client whose activities are all closed is left out with its activities, related persons and
    care teams. The synthetic history starts in January 2026, within every K.2 period of the lab's domain files."""
    document = yaml.safe_load((LAB_INVENTORY / "domains" / f"{domain}.yml").read_text())
    held = kt13_holdings(kt13_export(lab, document["kt13"]["domain"]))
    return in_scope_counts(held, document["migration"]["scope"]["dossiers"] == "open_only")


def tcp(container: str, address: str, port: int) -> bool:
    """Whether a TCP connection from inside a lab host to address:port succeeds."""
    probe = f"timeout 3 bash -c '</dev/tcp/{address}/{port}'"
    return run("podman", "exec", container, "bash", "-c", probe, check=False).returncode == 0


def gateway(host: dict) -> str:
    """The podman host's own address on a lab host's network."""
    return host["subnet"].rsplit(".", 1)[0] + ".1"


def burst(host: dict, count: int = 60, settle: bool = True) -> list[httpx.Response]:
    """`count` requests at once (20 in parallel) from this machine to a KT 2.0 host's ingress, by a client that
    waits nothing out; `settle`: first a pause in which the limit's burst refills (25 at 5/s). They ask for a
    domain's JWKS: cheap for the service behind, so the answers come fast however loaded the FHIR server is."""
    environment = host["environment"]
    name = f"{environment}.koppeltaal.test"
    if settle:
        time.sleep(6)
    context = ssl.create_default_context(cafile=str(LAB_INVENTORY / ".pki" / environment / "ca.crt"))
    with httpx.Client(verify=context, timeout=30, limits=httpx.Limits(max_connections=20)) as raw, \
            ThreadPoolExecutor(20) as pool:
        return list(pool.map(lambda _: raw.get(f"https://{host['address']}/api/v1/ggz-noorderlicht/oauth2/.well-known/"
                                               "jwks.json",
                                               headers={"Host": name}, extensions={"sni_hostname": name}),
                             range(count)))


@pytest.fixture(scope="session")
def control_listener():
    """A TCP listener on the control machine, on every address: each lab network's gateway included.
    podman's isolation stops traffic between networks, not traffic to another network's gateway
    address on this machine: only the hosts' own firewall stands between them."""
    port = 18080
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "0.0.0.0", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield port
    finally:
        server.terminate()
        server.wait()


def kill_run_when(inventory: Path, step: str, domain: str, marker, *args: str) -> None:
    """Start `kt2 run STEP`, SIGKILL it as soon as `marker()` holds (as an operator's kill -9 or a crash
    would), and assert that the whole run ends with it: no worker carries the step on unseen."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    proc = subprocess.Popen([".venv/bin/kt2", "run", step, "--domain", domain, "-i", str(inventory), *args],
                            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not marker() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, f"{step} ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for _ in range(100):  # the kernel ends the workers; give it a moment
        left = _processes_mentioning(str(inventory))
        if not left:
            return
        time.sleep(0.1)
    raise AssertionError(f"{step} went on after its run was killed: {left}")


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            words = cmdline.read_bytes().decode(errors="replace").split("\0")
            if any(text in word for word in words):
                found.append(f"{cmdline.parent.name}: {' '.join(words)[:120]}")
    return found


def pytest_collection_finish(session):
    """Start the selected molecule scenarios and the execution environment's build in the background now (see
    molecule_runs and ee_build)."""
    if not session.config.option.collectonly:
        molecule_runs.start([item.callspec.params["role"] for item in session.items
                             if item.get_closest_marker("molecule")])
        if any("ee_image" in item.fixturenames for item in session.items):
            ee_build.start()


def pytest_sessionfinish(session):
    molecule_runs.stop()  # a session that ended early (-x, Ctrl-C) waits for running work only
    ee_build.stop()
