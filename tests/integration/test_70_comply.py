"""`kt2 comply` on the lab: the secured lab passes every control; each violation, injected for real,
is caught under the right control id; security.yml restores compliance."""

import base64
import json
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kt2ops.secrets import read_secret
from tests.conftest import LAB_INVENTORY, ROOT, run
from tests.integration.conftest import contract, gateway, host_of, outcome, playbook, tcp

NGINX_SITE = "/etc/nginx/conf.d/kt2ops.conf"


def comply(tmp_path: Path, *args: str, inventory: Path = LAB_INVENTORY) -> tuple[int, dict, str]:
    out = tmp_path / f"bundle-{len(list(tmp_path.glob('bundle-*')))}"
    proc = run(".venv/bin/kt2", "comply", "-i", str(inventory), "--out", str(out), *args, check=False)
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.returncode, json.loads((out / "report.json").read_text()), proc.stdout


def failures(report: dict) -> dict[tuple[str, str], list[str]]:
    return {(c["id"], env): [f["message"] for f in r["findings"]]
            for c in report["controls"] for env, r in c["results"].items() if r["status"] == "fail"}


def restore(env: str) -> None:
    proc = playbook("playbooks/security.yml", "-l", env)
    assert proc.returncode == 0, outcome(proc)


def nginx(container: str, script: str) -> None:
    run("podman", "exec", container, "bash", "-c", f"{script} && nginx -t -q && systemctl reload nginx")


@pytest.fixture(scope="module")
def clean(secured, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("comply")
    code, report, output = comply(tmp)
    return secured, tmp, code, report, output


def test_secured_lab_passes_every_control(clean):
    _, tmp, code, report, output = clean
    assert failures(report) == {}, output
    assert code == 0
    assert report["summary"]["pass"] >= 25 and report["summary"]["fail"] == 0
    assert run(".venv/bin/kt2", "verify-bundle", str(tmp / "bundle-0")).returncode == 0


def test_stored_evidence_gives_the_same_verdicts_without_hosts(clean, tmp_path):
    _, tmp, _, report, _ = clean
    again = run(".venv/bin/kt2", "comply", "--evidence", str(tmp / "bundle-0" / "evidence.json"),
                "--out", str(tmp_path / "again"), "-i", "/nonexistent", check=False)
    assert again.returncode == 0 and "collecting evidence" not in again.stderr
    assert json.loads((tmp_path / "again" / "report.json").read_text())["controls"] == report["controls"]


def test_mgr2_opened_to_prd2_is_caught_and_the_link_is_real(clean, control_listener, tmp_path):
    lab = clean[0]
    mgr2, prd2 = host_of(lab, "mgr2"), host_of(lab, "prd2")
    # An operator opens mgr2 to prd2's network, both ways (the replies must come back in too).
    for chain, field in (("output", "daddr"), ("input", "saddr")):
        run("podman", "exec", mgr2["container"], "nft", "insert", "rule", "inet", "kt2ops", chain,
            "ip", field, prd2["subnet"], "accept")
    try:
        assert tcp(mgr2["container"], gateway(prd2), control_listener)  # the hole is real
        code, report, _ = comply(tmp_path, "-l", "mgr2")
        assert code == 1
        assert any(f"accepts traffic with {prd2['subnet']}" in m for m in failures(report)[("B.5", "mgr2")])
        assert set(failures(report)) == {("B.5", "mgr2")}
    finally:
        restore("mgr2")
    assert not tcp(mgr2["container"], gateway(prd2), control_listener)
    assert comply(tmp_path, "-l", "mgr2")[0] == 0


def test_weak_tls_protocol_is_caught(clean, tmp_path):
    prd2 = host_of(clean[0], "prd2")
    nginx(prd2["container"], f"sed -i -e 's/ssl_protocols .*;/ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;/' "
                             f"-e 's/ssl_ciphers \\(.*\\);/ssl_ciphers ECDHE-ECDSA-AES256-SHA:\\1:@SECLEVEL=0;/' "
                             f"{NGINX_SITE}")
    try:
        code, report, _ = comply(tmp_path, "-l", "prd2")
        assert code == 1
        messages = failures(report)[("B.1", "prd2")]
        assert "accepts TLSv1.0 on port 443" in messages and "accepts TLSv1.1 on port 443" in messages
    finally:
        restore("prd2")
    assert comply(tmp_path, "-l", "prd2")[0] == 0


def test_plain_http_serving_data_is_caught(clean, tmp_path):
    acc22 = host_of(clean[0], "acc22")
    nginx(acc22["container"], "sed -i 's|return 301 https://.*;|location / { proxy_pass http://127.0.0.1:8080; }|' "
                              f"{NGINX_SITE}")
    try:
        code, report, _ = comply(tmp_path, "-l", "acc22")
        assert code == 1
        assert any(m.startswith("plain HTTP answers /api/ with status") for m in failures(report)[("B.1", "acc22")])
    finally:
        restore("acc22")
    assert comply(tmp_path, "-l", "acc22")[0] == 0


def test_two_environments_sharing_a_certificate_is_caught(clean, tmp_path):
    acc21 = host_of(clean[0], "acc21")
    pki = LAB_INVENTORY / ".pki" / "acc22"
    run("podman", "exec", acc21["container"], "mkdir", "-p", "/etc/kt2ops/borrowed")
    run("podman", "cp", str(pki / "fullchain.pem"), f"{acc21['container']}:/etc/kt2ops/borrowed/fullchain.pem")
    borrowed_key = base64.b64encode(read_secret(pki / "server.key")).decode()  # vault-encrypted at rest
    run("podman", "exec", acc21["container"], "sh", "-c",
        f"echo {borrowed_key} | base64 -d > /etc/kt2ops/borrowed/server.key")
    nginx(acc21["container"], f"sed -i 's|/etc/kt2ops/tls/|/etc/kt2ops/borrowed/|' {NGINX_SITE}")
    try:
        code, report, _ = comply(tmp_path, "-l", "acc21", "-l", "acc22")
        assert code == 1
        messages = failures(report)[("B.6", "acc21")]
        assert "serves the same key as acc22.lab (acc22)" in messages
        assert any("not for acc21.koppeltaal.test" in m for m in messages)
    finally:
        restore("acc21")
        run("podman", "exec", acc21["container"], "rm", "-rf", "/etc/kt2ops/borrowed")
    assert comply(tmp_path, "-l", "acc21", "-l", "acc22")[0] == 0


def test_an_application_registered_with_another_environments_key_is_caught(clean, tmp_path):
    acc22 = host_of(clean[0], "acc22")
    borrowed = x509.load_pem_x509_certificate(
        (LAB_INVENTORY / ".pki" / "acc21" / "apps" / "ggz-noorderlicht" / "noorderlicht-ecd.crt").read_bytes())
    pem = borrowed.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    status, _ = contract(acc22, 8085, "/_contract/domains/ggz-noorderlicht/applications", "POST", {
        "client_id": "borrowed", "name": "Borrowed", "supplier": "Dossierbouw BV", "kind": "ehr", "role": "ehr",
        "status": "approved", "public_key": pem})
    assert status == 200
    try:
        code, report, _ = comply(tmp_path, "-l", "acc21", "-l", "acc22")
        assert code == 1
        assert failures(report) == {("B.6T", "acc22"): [
            "application borrowed of domain ggz-noorderlicht is registered with a key of acc21 "
            "(.pki/acc21/apps/ggz-noorderlicht/noorderlicht-ecd.crt)"]}
    finally:
        assert playbook("playbooks/domains.yml", "-l", "acc22").returncode == 0  # the domain file again
    assert comply(tmp_path, "-l", "acc21", "-l", "acc22")[0] == 0


def test_deploy_with_another_environments_certificate_is_refused(clean, lab_inventory_copy):
    pki = lab_inventory_copy / ".pki"
    for name in ("server.crt", "server.key"):
        (pki / "acc21" / name).write_bytes((pki / "acc22" / name).read_bytes())
    proc = playbook("-i", str(lab_inventory_copy), "playbooks/security.yml", "-l", "acc21")
    assert proc.returncode != 0
    assert "acc21 is not its own: server .pki/acc21/server.crt shares its certificate with acc22" in proc.stdout
    assert "changed=0" in proc.stdout.split("PLAY RECAP")[-1]


def test_expired_vog_is_caught(clean, lab_inventory_copy, tmp_path):
    records = lab_inventory_copy / "group_vars" / "all.yml"
    data = yaml.safe_load(records.read_text())
    data["kt2_people"][1]["vog"]["expires"] = "2025-01-01"
    records.write_text(yaml.safe_dump(data))
    code, report, _ = comply(tmp_path, "-l", "mgr2", inventory=lab_inventory_copy)
    assert code == 1
    assert failures(report) == {("B.9", "mgr2"): ["the VOG of S. Visser expired on 2025-01-01"]}


def test_data_left_on_mgr2_after_its_migration_is_caught(clean, lab_inventory_copy, tmp_path):
    # The trial migration is over: the domain no longer names mgr2, but its data is still there.
    domain = lab_inventory_copy / "domains" / "ggz-noorderlicht.yml"
    domain.write_text(domain.read_text().replace("environments: [acc21, acc22, mgr2, prd2]",
                                                 "environments: [acc21, acc22, prd2]"))
    code, report, _ = comply(tmp_path, "-l", "mgr2", inventory=lab_inventory_copy)
    assert code == 1
    assert failures(report) == {("B.G4", "mgr2"): [
        "data of domain ggz-noorderlicht is still on mgr2 although the domain is no longer configured there"]}


def test_html_report_shows_the_matrix_in_a_browser(clean, tmp_path):
    page = f"file://{clean[1] / 'bundle-0' / 'report.html'}"
    browser = ("chromium", "--headless", "--no-sandbox", "--disable-gpu")
    dom = run(*browser, "--dump-dom", page).stdout
    assert dom.count('<td class="pass">') >= 25 and '<td class="fail">' not in dom
    shot = tmp_path / "report.png"
    run(*browser, f"--screenshot={shot}", "--window-size=1400,900", page)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (ROOT / "reports").mkdir(exist_ok=True)
    (ROOT / "reports" / "comply-matrix.png").write_bytes(shot.read_bytes())  # for a person to look at


def test_package_that_no_longer_matches_its_manifest_is_caught(clean, tmp_path):
    mgr2 = host_of(clean[0], "mgr2")
    export = tmp_path / "export"
    export.mkdir()
    (export / "messages.jsonl").write_text('{"event": "CreateOrUpdatePatient"}\n' * 1000)
    run(".venv/bin/kt2", "package", "seal", str(export), "--out", str(tmp_path / "out"), "--name", "copy",
        "--key-out", str(tmp_path / "key" / "copy.key"))
    # Verified on arrival (the record beside the package), then placed in mgr2's transfer area.
    run(".venv/bin/kt2", "package", "verify", str(tmp_path / "out" / "copy.tar.age"))
    area = "/srv/kt2ops/transfer/incoming"
    run("podman", "exec", mgr2["container"], "mkdir", "-p", area)
    try:
        for name in ("copy.tar.age", "copy.manifest.json", "copy.verified.json"):
            run("podman", "cp", str(tmp_path / "out" / name), f"{mgr2['container']}:{area}/{name}")
        assert comply(tmp_path, "-l", "mgr2")[0] == 0
        flip = ("import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=1; "
                "open(p,'wb').write(bytes(b))")
        run("podman", "exec", mgr2["container"], "python3", "-c", flip, f"{area}/copy.tar.age")
        code, report, _ = comply(tmp_path, "-l", "mgr2")
        assert code == 1
        assert f"package {area}/copy.tar.age does not match its manifest (SHA-256 differs)" in \
            failures(report)[("B.2", "mgr2")]
    finally:
        run("podman", "exec", mgr2["container"], "rm", "-rf", "/srv/kt2ops/transfer")


def test_a_supplier_without_its_incident_procedure_record_is_caught(clean, lab_inventory_copy, tmp_path):
    records = lab_inventory_copy / "group_vars" / "all.yml"
    data = yaml.safe_load(records.read_text())
    data["kt2_suppliers"] = [s for s in data["kt2_suppliers"] if s["name"] != "Portaalbouwers BV"]
    records.write_text(yaml.safe_dump(data))
    code, report, _ = comply(tmp_path, "-l", "mgr2", inventory=lab_inventory_copy)  # B.4: production data
    assert code == 1
    assert failures(report) == {("B.4", "mgr2"): ["no security incident procedure on record for supplier "
                                                  "Portaalbouwers BV"]}


# A package of the host's own with a newer version in a local archive that calls itself a security suite:
# apt treats it as any Debian security update, without depending on what deb.debian.org offers today.
PROBE_ARCHIVE = """set -e
work=$(mktemp -d); repo=/srv/kt2-probe-archive
build() {
  mkdir -p $work/$1/DEBIAN
  printf 'Package: kt2-probe\\nVersion: %s\\nArchitecture: all\\nMaintainer: lab <lab@kt2ops.test>\\n' $1 \
    > $work/$1/DEBIAN/control
  echo 'Description: probe' >> $work/$1/DEBIAN/control
  dpkg-deb -b $work/$1 $work/kt2-probe_$1_all.deb > /dev/null
}
build 1.0; build 1.1
dpkg -i $work/kt2-probe_1.0_all.deb > /dev/null
mkdir -p $repo && cp $work/kt2-probe_1.1_all.deb $repo/ && cd $repo
{ dpkg-deb -f kt2-probe_1.1_all.deb; echo "Filename: ./kt2-probe_1.1_all.deb"
  echo "Size: $(stat -c %s kt2-probe_1.1_all.deb)"; echo "SHA256: $(sha256sum kt2-probe_1.1_all.deb | cut -d' ' -f1)"
} > Packages
printf 'Origin: kt2ops-lab\\nLabel: kt2ops-lab\\nSuite: bookworm-security\\nCodename: bookworm-security\\n' > Release
echo "deb [trusted=yes] file:$repo ./" > /etc/apt/sources.list.d/kt2-probe.list
apt-get update -qq -o Dir::Etc::sourcelist=sources.list.d/kt2-probe.list -o Dir::Etc::sourceparts=- \
  -o APT::Get::List-Cleanup=0 2> /dev/null
"""
PROBE_REMOVED = ("apt-mark unhold kt2-probe; dpkg -P kt2-probe; rm -rf /srv/kt2-probe-archive "
                 "/etc/apt/sources.list.d/kt2-probe.list /var/lib/apt/lists/_srv_kt2-probe-archive_*")


def test_a_security_update_held_back_is_caught_until_applied(clean, tmp_path):
    prd2 = host_of(clean[0], "prd2")
    shell = ("podman", "exec", prd2["container"], "bash")
    run(*shell, "-c", PROBE_ARCHIVE)
    try:
        code, report, _ = comply(tmp_path, "-l", "prd2")
        assert code == 1 and failures(report) == {("B.10", "prd2"): ["pending security updates: kt2-probe"]}
        run(*shell, "-c", "apt-mark hold kt2-probe")
        code, report, _ = comply(tmp_path, "-l", "prd2")
        assert code == 1 and failures(report) == {("B.10", "prd2"): ["pending security updates: kt2-probe (held back)"]}
        # The patching task leaves a hold alone and says so; released, the update is applied and B.10 passes.
        patch = ("prd2.lab", "-m", "kt2ops.platform.security_updates")
        held = run(".venv/bin/ansible", *patch, check=False)
        assert held.returncode == 0 and "prd2.lab | SUCCESS" in held.stdout, held.stdout + held.stderr
        assert "held back (apt-mark hold), left unpatched: kt2-probe" in held.stderr
        run(*shell, "-c", "apt-mark unhold kt2-probe")
        applied = run(".venv/bin/ansible", *patch, check=False)
        assert "prd2.lab | CHANGED" in applied.stdout, applied.stdout + applied.stderr
        assert run(*shell, "-c", "dpkg-query -W -f '${Version}' kt2-probe").stdout == "1.1"
        assert comply(tmp_path, "-l", "prd2")[0] == 0
    finally:
        run(*shell, "-c", PROBE_REMOVED, check=False)
